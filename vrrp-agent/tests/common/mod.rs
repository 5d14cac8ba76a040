//! Test helper for the io_* integration tests: a network namespace pair joined by a veth, removed
//! by a Drop guard even when the test panics, and a way to run code inside a namespace.
//!
//! Only link-local, 192.0.2.0/24 and 2001:db8::/32 addresses are used, and nothing leaves the
//! namespaces the test creates.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::fs::File;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// True when running as root (the namespace tests need it).
pub fn is_root() -> bool {
    nix::unistd::Uid::effective().is_root()
}

/// Runs a command, panicking with its output if it fails.
pub fn sh(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// Two namespaces `<tag>a` / `<tag>b` with a veth pair `va` (in a) <-> `vb` (in b), both up.
/// Addresses: a = 192.0.2.1/24, 2001:db8::1/64; b = 192.0.2.2/24, 2001:db8::2/64 (NODAD).
pub struct NsPair {
    /// Namespace of side a.
    pub a: String,
    /// Namespace of side b.
    pub b: String,
}

impl NsPair {
    /// Creates the pair; names are unique per process and call.
    pub fn new() -> Self {
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let tag = format!("io{}x{n}", std::process::id());
        // The guard exists before anything is made: a failure below still removes it all.
        let pair = NsPair {
            a: format!("{tag}a"),
            b: format!("{tag}b"),
        };
        sh(&["ip", "netns", "add", &pair.a]);
        sh(&["ip", "netns", "add", &pair.b]);
        sh(&[
            "ip", "link", "add", "va", "netns", &pair.a, "type", "veth", "peer", "name", "vb",
            "netns", &pair.b,
        ]);
        for (ns, dev, v4, v6) in [
            (&pair.a, "va", "192.0.2.1/24", "2001:db8::1/64"),
            (&pair.b, "vb", "192.0.2.2/24", "2001:db8::2/64"),
        ] {
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            sh(&["ip", "-n", ns, "addr", "add", v4, "dev", dev]);
            sh(&["ip", "-n", ns, "addr", "add", v6, "dev", dev, "nodad"]);
            sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        pair
    }

    /// `ip netns exec NS args...`
    pub fn exec(ns: &str, args: &[&str]) -> Output {
        let mut full = vec!["ip", "netns", "exec", ns];
        full.extend_from_slice(args);
        sh(&full)
    }

    /// Waits until the link-local address of `dev` in `ns` is no longer tentative and returns it.
    pub fn link_local(ns: &str, dev: &str) -> std::net::Ipv6Addr {
        for _ in 0..100 {
            let out = sh(&[
                "ip", "-n", ns, "-6", "-o", "addr", "show", "dev", dev, "scope", "link",
            ]);
            let s = String::from_utf8_lossy(&out.stdout).to_string();
            if !s.contains("tentative")
                && let Some(addr) = s.split_whitespace().skip_while(|w| *w != "inet6").nth(1)
                && let Some(ip) = addr.split('/').next().and_then(|a| a.parse().ok())
            {
                return ip;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("no usable link-local address on {dev} in {ns}");
    }

    /// MAC address of `dev` in `ns`.
    pub fn mac(ns: &str, dev: &str) -> [u8; 6] {
        let out = sh(&["ip", "-n", ns, "-o", "link", "show", "dev", dev]);
        let s = String::from_utf8_lossy(&out.stdout).to_string();
        let m = s
            .split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .expect("link/ether");
        let mut mac = [0u8; 6];
        for (i, p) in m.split(':').enumerate() {
            mac[i] = u8::from_str_radix(p, 16).expect("hex");
        }
        mac
    }
}

impl Drop for NsPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end in it, and with it the peer.
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// Runs `f` on a fresh thread that has entered network namespace `ns`, inside a current-thread
/// tokio runtime; sockets made there belong to that namespace. Panics propagate.
pub fn in_netns<R, F, Fut>(ns: &str, f: F) -> R
where
    R: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = R>,
{
    spawn_in_netns(ns, f)
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

/// Like [`in_netns`] but returns the thread handle so the test can do other things meanwhile.
pub fn spawn_in_netns<R, F, Fut>(ns: &str, f: F) -> std::thread::JoinHandle<R>
where
    R: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = R>,
{
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(f())
    })
}

/// Writes frames to a classic pcap file (Ethernet link type) for tshark.
pub fn write_pcap(path: &std::path::Path, frames: &[Vec<u8>]) {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, f) in frames.iter().enumerate() {
        out.extend_from_slice(&(i as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(&(f.len() as u32).to_le_bytes());
        out.extend_from_slice(f);
    }
    std::fs::write(path, out).expect("write pcap");
}

/// Starts capturing inbound frames on `dev` in `ns` with an AF_PACKET socket; returns once the
/// socket is open. The handle yields, in arrival order, up to `want` frames whose Ethernet source
/// is `src_mac`, or what arrived within `timeout`.
pub fn capture_from(
    ns: &str,
    dev: &str,
    src_mac: [u8; 6],
    want: usize,
    timeout: std::time::Duration,
) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    let path = format!("/run/netns/{ns}");
    let dev = std::ffi::CString::new(dev).expect("name");
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let file = File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        nix::sched::setns(file, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        // SAFETY: plain libc calls on values we own; results checked.
        unsafe {
            let proto = (libc::ETH_P_ALL as u16).to_be();
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, i32::from(proto));
            assert!(
                fd >= 0,
                "capture socket: {}",
                std::io::Error::last_os_error()
            );
            let ifindex = libc::if_nametoindex(dev.as_ptr());
            assert!(ifindex > 0, "if_nametoindex");
            let mut sa: libc::sockaddr_ll = std::mem::zeroed();
            sa.sll_family = libc::AF_PACKET as u16;
            sa.sll_protocol = proto;
            sa.sll_ifindex = ifindex as i32;
            let r = libc::bind(
                fd,
                (&raw const sa).cast(),
                size_of::<libc::sockaddr_ll>() as u32,
            );
            assert_eq!(r, 0, "bind: {}", std::io::Error::last_os_error());
            let tv = libc::timeval {
                tv_sec: 0,
                tv_usec: 100_000,
            };
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const tv).cast(),
                size_of::<libc::timeval>() as u32,
            );
            // A burst of 255 frames outgrows the default receive buffer (~212 KB) when this
            // thread is slow to be scheduled on a loaded machine: make room for all of them.
            let rcvbuf: libc::c_int = 8 << 20;
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&raw const rcvbuf).cast(),
                size_of::<libc::c_int>() as u32,
            );
            ready_tx.send(()).expect("ready");
            let deadline = std::time::Instant::now() + timeout;
            let mut frames = Vec::new();
            let mut buf = [0u8; 4096];
            while frames.len() < want && std::time::Instant::now() < deadline {
                let mut from: libc::sockaddr_ll = std::mem::zeroed();
                let mut len = size_of::<libc::sockaddr_ll>() as u32;
                let n = libc::recvfrom(
                    fd,
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&raw mut from).cast(),
                    &mut len,
                );
                if n < 14 || from.sll_pkttype == libc::PACKET_OUTGOING {
                    continue;
                }
                let f = &buf[..n as usize];
                if f[6..12] == src_mac {
                    frames.push(f.to_vec());
                }
            }
            libc::close(fd);
            frames
        }
    });
    ready_rx.recv().expect("capture thread started");
    h
}

/// Runs `tshark -r FILE -o ip.check_checksum:TRUE ... -T fields -e F...` and returns one line
/// per frame, fields separated by '|'.
pub fn tshark_fields(file: &std::path::Path, fields: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "tshark".into(),
        "-r".into(),
        file.display().to_string(),
        "-o".into(),
        "ip.check_checksum:TRUE".into(),
        "-o".into(),
        "vrrp.v3_checksum_as_in_v2:FALSE".into(),
        "-T".into(),
        "fields".into(),
        "-E".into(),
        "separator=|".into(),
    ];
    for f in fields {
        args.push("-e".into());
        args.push((*f).into());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = sh(&refs);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}
