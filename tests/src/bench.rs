//! Shared pieces of the side-by-side benchmark binaries (bench-arp, bench-scale, bench-flood,
//! bench-failover): a stop flag set by SIGINT/SIGTERM (the topology guards' Drop does the
//! cleanup), machine facts, min/median/max summaries, JSON and hand-written SVG output, CPU and
//! peak RSS of a process tree from /proc, interface counters, an AF_PACKET ARP generator
//! (sendmmsg batches, PACKET_QDISC_BYPASS, one socket per thread) and an AF_PACKET VRRP observer
//! with kernel receive timestamps (SO_TIMESTAMPNS).

use std::fmt::Write as _;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};

use crate::topo::Netns;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM set the stop flag instead of killing the bench, so that the running
/// item ends early and every namespace guard is dropped (namespaces deleted, daemons killed).
pub fn install_stop_handler() {
    // SAFETY: the handler only stores to an atomic (async-signal-safe).
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
        libc::signal(
            libc::SIGTERM,
            on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

/// Whether SIGINT/SIGTERM was received.
pub fn stopped() -> bool {
    STOP.load(Ordering::SeqCst)
}

/// Sleeps `d` in short steps; `false` (early) when the bench was asked to stop.
pub fn nap(d: Duration) -> bool {
    let end = std::time::Instant::now() + d;
    loop {
        if stopped() {
            return false;
        }
        let now = std::time::Instant::now();
        if now >= end {
            return true;
        }
        std::thread::sleep((end - now).min(Duration::from_millis(50)));
    }
}

/// `--name VALUE` from the command line.
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// Whether `--quick` was given.
pub fn quick() -> bool {
    std::env::args().any(|a| a == "--quick")
}

/// Number of CPUs.
pub fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The machine line printed next to absolute figures.
pub fn machine() -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    format!(
        "nproc {}, kernel {}, CPU {cpu}; veth in namespaces, generic XDP",
        nproc(),
        kernel.trim()
    )
}

/// The keepalived version string (`keepalived 2.2.7`).
pub fn keepalived_version() -> String {
    std::process::Command::new("keepalived")
        .arg("-v")
        .output()
        .ok()
        .and_then(|o| {
            let t = String::from_utf8_lossy(&o.stderr).into_owned()
                + &String::from_utf8_lossy(&o.stdout);
            t.lines()
                .next()
                .and_then(|l| l.split_whitespace().take(2).last().map(str::to_string))
        })
        .map_or_else(|| "keepalived".into(), |v| format!("keepalived {v}"))
}

/// Percentile of sorted values (nearest rank on the closed interval).
pub fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// min / median / max of a set of runs.
#[derive(Clone, Copy, Debug)]
pub struct Summary {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(v: &[f64]) -> Option<Summary> {
        let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        if s.is_empty() {
            return None;
        }
        s.sort_by(f64::total_cmp);
        Some(Summary {
            min: s[0],
            median: pct(&s, 0.5),
            max: s[s.len() - 1],
        })
    }

    /// `median (min–max)` with `prec` decimals.
    pub fn show(&self, prec: usize) -> String {
        format!(
            "{:.prec$} ({:.prec$}–{:.prec$})",
            self.median, self.min, self.max
        )
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({"min": self.min, "median": self.median, "max": self.max})
    }
}

/// `median (min–max)` of `v`, or `-` when empty.
pub fn show(v: &[f64], prec: usize) -> String {
    Summary::of(v).map_or_else(|| "-".into(), |s| s.show(prec))
}

/// Where results go: `docs/bench/` in full mode, `target/bench/` in quick mode (created).
pub fn results_dir(quick: bool) -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().map_or(manifest.clone(), PathBuf::from);
    let d = if quick {
        root.join("target/bench")
    } else {
        root.join("docs/bench")
    };
    let _ = std::fs::create_dir_all(&d);
    d
}

/// Writes `name` (JSON, pretty) into the results directory and says where.
pub fn write_json(quick: bool, name: &str, v: &serde_json::Value) {
    let p = results_dir(quick).join(name);
    match serde_json::to_string_pretty(v) {
        Ok(s) if std::fs::write(&p, format!("{s}\n")).is_ok() => {
            println!("\nwrote {}", p.display());
        }
        _ => eprintln!("cannot write {}", p.display()),
    }
}

/// Writes an SVG file into the results directory and says where.
pub fn write_svg(quick: bool, name: &str, svg: &str) {
    let p = results_dir(quick).join(name);
    if std::fs::write(&p, svg).is_ok() {
        println!("wrote {}", p.display());
    } else {
        eprintln!("cannot write {}", p.display());
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A strip plot, hand-written SVG: one row per label, every run as a dot, the median as a bar,
/// a shared linear x axis from 0 in `unit`. Rows whose label contains "keepalived" are orange,
/// the others blue.
pub fn svg_strip(title: &str, unit: &str, rows: &[(String, Vec<f64>)]) -> String {
    let (w, left, right, top, row_h) = (960.0, 330.0, 30.0, 50.0, 26.0);
    let h = top + row_h * rows.len() as f64 + 50.0;
    let vmax = rows
        .iter()
        .flat_map(|r| r.1.iter().copied())
        .filter(|x| x.is_finite())
        .fold(0.0f64, f64::max);
    let vmax = nice_ceiling(if vmax > 0.0 { vmax } else { 1.0 });
    let x = |v: f64| left + (w - left - right) * v / vmax;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="24" font-size="15" text-anchor="middle">{}</text>"#,
        w / 2.0,
        esc(title)
    );
    let axis_y = top + row_h * rows.len() as f64;
    for k in 0..=5 {
        let v = vmax * k as f64 / 5.0;
        let xv = x(v);
        let _ = writeln!(
            s,
            "<line x1=\"{xv:.1}\" y1=\"{top}\" x2=\"{xv:.1}\" y2=\"{axis_y}\" stroke=\"#ddd\"/>"
        );
        let _ = writeln!(
            s,
            r#"<text x="{xv:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            axis_y + 16.0,
            fmt_tick(v)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        left + (w - left - right) / 2.0,
        axis_y + 36.0,
        esc(unit)
    );
    for (i, (label, vals)) in rows.iter().enumerate() {
        let y = top + row_h * (i as f64 + 0.5);
        let color = if label.contains("keepalived") {
            "#e6550d"
        } else {
            "#3182bd"
        };
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            left - 8.0,
            y + 4.0,
            esc(label)
        );
        for v in vals.iter().filter(|v| v.is_finite()) {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{y:.1}" r="3.5" fill="{color}" fill-opacity="0.55"/>"#,
                x(*v)
            );
        }
        if let Some(sm) = Summary::of(vals) {
            let _ = writeln!(
                s,
                r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="1.5"/>"#,
                x(sm.min),
                y,
                x(sm.max),
                y
            );
            let _ = writeln!(
                s,
                r#"<line x1="{m:.1}" y1="{:.1}" x2="{m:.1}" y2="{:.1}" stroke="black" stroke-width="2.5"/>"#,
                y - 9.0,
                y + 9.0,
                m = x(sm.median)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

fn nice_ceiling(v: f64) -> f64 {
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if m * mag >= v {
            return m * mag;
        }
    }
    10.0 * mag
}

fn fmt_tick(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

// ---- processes -------------------------------------------------------------------------

/// `root` and all its descendants (by walking /proc/*/stat parent links).
pub fn proc_tree(root: i32) -> Vec<i32> {
    let mut parent: Vec<(i32, i32)> = Vec::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            if let Some(pp) = stat_fields(pid).and_then(|f| f.get(1).and_then(|p| p.parse().ok())) {
                parent.push((pid, pp));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parent.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    tree
}

/// Fields of /proc/PID/stat after the command name: [state, ppid, pgrp, ...] (field 3 onward).
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// CPU seconds (utime + stime, all threads) used so far by the processes of `root`'s tree.
pub fn tree_cpu_seconds(root: i32) -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    proc_tree(root)
        .into_iter()
        .filter_map(stat_fields)
        .map(|f| {
            // utime and stime are fields 14 and 15 of stat: indices 11 and 12 after the name.
            let g = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            (g(11) + g(12)) as f64 / hz
        })
        .sum()
}

/// Peak resident set (VmHWM, KiB) summed over `root`'s tree.
pub fn tree_hwm_kib(root: i32) -> u64 {
    proc_tree(root)
        .into_iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

// ---- namespaces and interfaces ---------------------------------------------------------

/// Runs `f` on a thread that has entered network namespace `ns` (sockets it opens belong there).
pub fn in_netns<R: Send + 'static>(ns: &str, f: impl FnOnce() -> R + Send + 'static) -> Result<R> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || -> Result<R> {
        let file = std::fs::File::open(&path).with_context(|| path.clone())?;
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)?;
        Ok(f())
    })
    .join()
    .map_err(|_| anyhow!("thread in namespace panicked"))?
}

/// An interface statistics counter (`rx_packets`, `tx_packets`, `rx_dropped`...) in `ns`.
pub fn if_counter(ns: &Netns, ifname: &str, name: &str) -> Result<u64> {
    let s = ns.exec(&["cat", &format!("/sys/class/net/{ifname}/statistics/{name}")])?;
    s.trim().parse().with_context(|| format!("{name}: {s}"))
}

/// The MAC address of `ifname` in `ns`.
pub fn mac(ns: &Netns, ifname: &str) -> Result<[u8; 6]> {
    let s = ns.exec(&["cat", &format!("/sys/class/net/{ifname}/address")])?;
    crate::frames::parse_mac(s.trim()).ok_or_else(|| anyhow!("bad MAC {s}"))
}

fn ifindex(name: &str) -> Result<i32> {
    let c = std::ffi::CString::new(name)?;
    // SAFETY: c is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        bail!("no interface {name}");
    }
    Ok(i as i32)
}

/// An AF_PACKET raw socket opened in `ns`; `proto` 0 for a send-only socket (no receive hook),
/// otherwise bound to `ifname` for that ethertype. Returns the socket and the ifindex.
fn packet_socket(ns: &str, ifname: &str, proto: u16) -> Result<(OwnedFd, i32)> {
    let ifname = ifname.to_string();
    in_netns(ns, move || -> Result<(OwnedFd, i32)> {
        let idx = ifindex(&ifname)?;
        // SAFETY: plain socket(2).
        let fd = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(proto.to_be()),
            )
        };
        if fd < 0 {
            bail!("AF_PACKET socket: {}", std::io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        if proto != 0 {
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = proto.to_be();
            sll.sll_ifindex = idx;
            // SAFETY: sll is a valid sockaddr_ll of the given size.
            let r = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&raw const sll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                )
            };
            if r < 0 {
                bail!("bind: {}", std::io::Error::last_os_error());
            }
        }
        Ok((fd, idx))
    })?
}

fn setsockopt_int(fd: &OwnedFd, level: i32, opt: i32, v: i32) -> std::io::Result<()> {
    // SAFETY: v lives for the call; size matches.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            (&raw const v).cast(),
            std::mem::size_of::<i32>() as u32,
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

// ---- ARP generator ---------------------------------------------------------------------

/// Prebuilt ARP requests (60-byte frames) for `targets`, from `sources` senders
/// (MAC 02:00:00:aa:xx:yy, IPv4 `base` + k), to `dst` (broadcast or the target's MAC).
pub fn arp_requests(
    dst: [u8; 6],
    sources: usize,
    base: [u8; 4],
    targets: &[[u8; 4]],
) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for k in 0..sources {
        let sha = [0x02, 0, 0, 0xaa, (k >> 8) as u8, k as u8];
        let mut spa = base;
        spa[3] = spa[3].wrapping_add(k as u8);
        for t in targets {
            let mut f = crate::frames::eth(
                dst,
                sha,
                crate::frames::ETH_ARP,
                &crate::frames::arp(1, sha, spa, [0; 6], *t),
            );
            f.resize(60, 0);
            out.push(f);
        }
    }
    out
}

/// A running ARP flood: `threads` threads, each with its own AF_PACKET socket
/// (PACKET_QDISC_BYPASS), sending the prebuilt frames round-robin by sendmmsg batches of 64.
pub struct Flood {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

impl Flood {
    pub fn start(ns: &Netns, ifname: &str, frames: Vec<Vec<u8>>, threads: usize) -> Result<Flood> {
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let frames = Arc::new(frames);
        let mut hs = Vec::new();
        for t in 0..threads.max(1) {
            let (fd, idx) = packet_socket(&ns.name, ifname, 0)?;
            // PACKET_QDISC_BYPASS (linux/if_packet.h): straight to the driver's xmit.
            let _ = setsockopt_int(&fd, libc::SOL_PACKET, 20, 1);
            let (stop, sent, frames) = (stop.clone(), sent.clone(), frames.clone());
            hs.push(std::thread::spawn(move || {
                send_loop(&fd, idx, &frames, t, &stop, &sent);
            }));
        }
        Ok(Flood {
            stop,
            sent,
            threads: hs,
        })
    }

    /// Frames sent so far (sendmmsg return values summed).
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Stops the threads; returns the frames sent in total.
    pub fn stop(mut self) -> u64 {
        self.halt();
        self.sent.load(Ordering::Relaxed)
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in std::mem::take(&mut self.threads) {
            let _ = h.join();
        }
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        self.halt();
    }
}

fn send_loop(
    fd: &OwnedFd,
    idx: i32,
    frames: &[Vec<u8>],
    offset: usize,
    stop: &AtomicBool,
    sent: &AtomicU64,
) {
    const BATCH: usize = 64;
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (crate::frames::ETH_ARP).to_be();
    sll.sll_ifindex = idx;
    sll.sll_halen = 6;
    let n = frames.len();
    let mut iovs: Vec<libc::iovec> = Vec::with_capacity(BATCH);
    let mut next = offset * 7;
    while !stop.load(Ordering::Relaxed) {
        iovs.clear();
        for _ in 0..BATCH {
            let f = &frames[next % n];
            next += 1;
            iovs.push(libc::iovec {
                iov_base: f.as_ptr() as *mut libc::c_void,
                iov_len: f.len(),
            });
        }
        let mut msgs: Vec<libc::mmsghdr> = iovs
            .iter_mut()
            .map(|iov| {
                // SAFETY: an all-zero mmsghdr is valid; the fields are then set.
                let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
                m.msg_hdr.msg_name = (&raw mut sll).cast();
                m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
                m.msg_hdr.msg_iov = iov;
                m.msg_hdr.msg_iovlen = 1;
                m
            })
            .collect();
        // SAFETY: msgs, iovs, sll and the frames outlive the call.
        let r = unsafe { libc::sendmmsg(fd.as_raw_fd(), msgs.as_mut_ptr(), BATCH as u32, 0) };
        if r > 0 {
            sent.fetch_add(r as u64, Ordering::Relaxed);
        } else {
            std::thread::yield_now();
        }
    }
}

// ---- VRRP observer ---------------------------------------------------------------------

/// One advert seen on the wire.
#[derive(Clone, Copy, Debug)]
pub struct Seen {
    /// Kernel receive time, ns (CLOCK_REALTIME).
    pub t_ns: u64,
    pub src: [u8; 4],
    pub vrid: u8,
    pub prio: u8,
}

/// A capture running on a background thread: an AF_PACKET socket for one ethertype on one
/// interface (64 MiB receive buffer, kernel timestamps, our own outgoing frames skipped); each
/// frame is handed with its receive time to a parser that keeps what it wants.
pub struct Capture<T: Send + 'static> {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<T>>>,
    drops: Arc<AtomicU64>,
}

impl<T: Send + 'static> Drop for Capture<T> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

impl<T: Send + 'static> Capture<T> {
    pub fn start(
        ns: &Netns,
        ifname: &str,
        ethertype: u16,
        parse: fn(u64, &[u8]) -> Option<T>,
    ) -> Result<Capture<T>> {
        let (fd, _) = packet_socket(&ns.name, ifname, ethertype)?;
        let _ = setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, 64 << 20);
        setsockopt_int(&fd, libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
        let tv = libc::timeval {
            tv_sec: 0,
            tv_usec: 100_000,
        };
        // SAFETY: tv lives for the call; size matches.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&raw const tv).cast(),
                std::mem::size_of::<libc::timeval>() as u32,
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let drops = Arc::new(AtomicU64::new(0));
        let (s2, d2) = (stop.clone(), drops.clone());
        let handle = std::thread::spawn(move || capture_loop(&fd, &s2, &d2, parse));
        Ok(Capture {
            stop,
            handle: Some(handle),
            drops,
        })
    }

    /// Stops the capture; returns what the parser kept and the socket's drop count.
    pub fn stop(mut self) -> (Vec<T>, u64) {
        self.stop.store(true, Ordering::Relaxed);
        let v = self
            .handle
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        (v, self.drops.load(Ordering::Relaxed))
    }
}

/// Captures every IPv4 VRRP advert arriving on an interface.
pub type Observer = Capture<Seen>;

impl Capture<Seen> {
    pub fn vrrp(ns: &Netns, ifname: &str) -> Result<Observer> {
        Capture::start(ns, ifname, crate::frames::ETH_IP, parse_vrrp)
    }
}

fn parse_vrrp(t_ns: u64, f: &[u8]) -> Option<Seen> {
    let ip = f.get(14..)?;
    let ihl = usize::from(*ip.first()? & 0x0f) * 4;
    if ip[0] >> 4 != 4 || ip.len() < ihl + 8 || ip[9] != 112 {
        return None;
    }
    Some(Seen {
        t_ns,
        src: [ip[12], ip[13], ip[14], ip[15]],
        vrid: ip[ihl + 1],
        prio: ip[ihl + 2],
    })
}

/// An ARP reply seen: receive time and the Ethernet source MAC.
#[derive(Clone, Copy, Debug)]
pub struct ArpReply {
    pub t_ns: u64,
    pub from: [u8; 6],
    pub spa: [u8; 4],
}

impl Capture<ArpReply> {
    /// Captures the ARP replies arriving on an interface.
    pub fn arp_replies(ns: &Netns, ifname: &str) -> Result<Capture<ArpReply>> {
        Capture::start(ns, ifname, crate::frames::ETH_ARP, parse_arp_reply)
    }
}

fn parse_arp_reply(t_ns: u64, f: &[u8]) -> Option<ArpReply> {
    if f.len() < 42 || f[20..22] != [0, 2] {
        return None;
    }
    let mut from = [0; 6];
    from.copy_from_slice(&f[6..12]);
    Some(ArpReply {
        t_ns,
        from,
        spa: [f[28], f[29], f[30], f[31]],
    })
}

/// Sends one frame every `period` from a thread (a client asking for the VIP), until dropped.
pub struct Pacer {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<u64>>,
}

impl Pacer {
    pub fn start(ns: &Netns, ifname: &str, frame: Vec<u8>, period: Duration) -> Result<Pacer> {
        let (fd, idx) = packet_socket(&ns.name, ifname, 0)?;
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = u16::from_be_bytes([frame[12], frame[13]]).to_be();
            sll.sll_ifindex = idx;
            sll.sll_halen = 6;
            let mut n = 0;
            let mut next = std::time::Instant::now();
            while !s2.load(Ordering::Relaxed) {
                // SAFETY: frame and sll outlive the call.
                let r = unsafe {
                    libc::sendto(
                        fd.as_raw_fd(),
                        frame.as_ptr().cast(),
                        frame.len(),
                        0,
                        (&raw const sll).cast(),
                        std::mem::size_of::<libc::sockaddr_ll>() as u32,
                    )
                };
                if r > 0 {
                    n += 1;
                }
                next += period;
                let now = std::time::Instant::now();
                if next > now {
                    std::thread::sleep(next - now);
                } else {
                    next = now;
                }
            }
            n
        });
        Ok(Pacer {
            stop,
            handle: Some(handle),
        })
    }

    /// Stops; returns the frames sent.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.take().and_then(|h| h.join().ok()).unwrap_or(0)
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn capture_loop<T>(
    fd: &OwnedFd,
    stop: &AtomicBool,
    drops: &AtomicU64,
    parse: fn(u64, &[u8]) -> Option<T>,
) -> Vec<T> {
    let mut out = Vec::new();
    let mut buf = [0u8; 256];
    let mut cbuf = [0u64; 16];
    while !stop.load(Ordering::Relaxed) {
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: zeroed msghdr, then pointers to live buffers.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&raw mut sll).cast();
        msg.msg_namelen = std::mem::size_of::<libc::sockaddr_ll>() as u32;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&cbuf);
        // SAFETY: msg points to valid buffers for the duration of the call.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) };
        if n < 0 {
            continue;
        }
        let n = (n as usize).min(buf.len());
        // PACKET_OUTGOING: our own frames.
        if sll.sll_pkttype == 4 {
            continue;
        }
        let mut t_ns = 0;
        // SAFETY: walking the control messages the kernel wrote into cbuf.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SO_TIMESTAMPNS {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    t_ns = ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64;
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        if let Some(v) = parse(t_ns, &buf[..n]) {
            out.push(v);
        }
    }
    // PACKET_STATISTICS (tp_packets, tp_drops): frames the socket could not queue.
    let mut st = [0u32; 2];
    let mut len = std::mem::size_of_val(&st) as u32;
    // SAFETY: st is large enough for struct tpacket_stats.
    if unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_PACKET,
            libc::PACKET_STATISTICS,
            st.as_mut_ptr().cast(),
            &mut len,
        )
    } == 0
    {
        drops.store(u64::from(st[1]), Ordering::Relaxed);
    }
    out
}

/// Per-VRID gaps (µs) between consecutive adverts from `src`, within [from_ns, to_ns).
pub fn advert_gaps_us(seen: &[Seen], src: [u8; 4], from_ns: u64, to_ns: u64) -> Vec<f64> {
    let mut per: std::collections::BTreeMap<u8, Vec<u64>> = Default::default();
    for s in seen
        .iter()
        .filter(|s| s.src == src && s.t_ns >= from_ns && s.t_ns < to_ns)
    {
        per.entry(s.vrid).or_default().push(s.t_ns);
    }
    let mut gaps = Vec::new();
    for (_, mut ts) in per {
        ts.sort_unstable();
        gaps.extend(ts.windows(2).map(|w| (w[1] - w[0]) as f64 / 1000.0));
    }
    gaps
}

/// Wall clock now, ns (the same clock as the observer's timestamps).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
