//! Topologies for agent-level tests and the lab: a LAN (a bridge in its own namespace) with hosts
//! attached by veth, processes started inside namespaces, and guards that tear everything down
//! on drop — also when a test panics. Only documentation ranges are used (192.0.2.0/24,
//! 2001:db8::/32).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// Runs a command, failing with its stderr when it exits non-zero.
pub fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd.output().with_context(|| format!("spawn {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

/// `ip ARGS` in the root namespace.
pub fn ip(args: &[&str]) -> Result<Output> {
    run(Command::new("ip").args(args))
}

/// A unique short prefix for this process's namespaces and links, so parallel test binaries
/// never collide (interface names are at most 15 bytes).
pub fn unique_prefix(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!("{tag}{}{n}", std::process::id() % 100_000)
}

/// A network namespace, deleted (with every process still in it killed) on drop.
#[derive(Debug)]
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(name: &str) -> Result<Netns> {
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", name])?;
        let ns = Netns {
            name: name.to_string(),
        };
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// A command that runs inside this namespace.
    pub fn cmd(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(argv);
        c
    }

    /// Runs `argv` inside the namespace and returns its stdout; fails on a non-zero exit.
    pub fn exec(&self, argv: &[&str]) -> Result<String> {
        let out = run(&mut self.cmd(argv))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Sets a sysctl inside the namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.exec(&["sysctl", "-qw", &format!("{key}={value}")])
            .map(drop)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
        {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A LAN: a bridge (multicast snooping off) in its own namespace, hosts attached by veth.
/// Host `i` gets `eth0` with MAC 02:00:00:00:<lan>:<i>, 192.0.2.<10+i>/24 and 2001:db8::<10+i>/64.
pub struct Lan {
    pub prefix: String,
    pub switch: Netns,
    pub hosts: Vec<Netns>,
    id: u8,
}

impl Lan {
    /// Builds the bridge and `hosts` hosts named `<prefix>-h<i>`.
    pub fn new(prefix: &str, hosts: usize) -> Result<Lan> {
        static LAN_ID: AtomicU32 = AtomicU32::new(0);
        let id = (LAN_ID.fetch_add(1, Ordering::Relaxed) % 250) as u8;
        let switch = Netns::new(&format!("{prefix}-sw"))?;
        add_bridge(&switch, "br0")?;
        // A switch does not run iptables on the frames it bridges. With br_netfilter loaded
        // (Docker loads it) every bridged frame went through the IP hooks, which the sender
        // pays for inside its sendmmsg on veth; off, per namespace, when the knob exists.
        for t in ["iptables", "ip6tables", "arptables"] {
            let _ = switch.sysctl(&format!("net.bridge.bridge-nf-call-{t}"), "0");
        }
        let mut lan = Lan {
            prefix: prefix.to_string(),
            switch,
            hosts: Vec::new(),
            id,
        };
        for _ in 0..hosts {
            lan.add_host()?;
        }
        Ok(lan)
    }

    /// Attaches one more host; returns its index.
    pub fn add_host(&mut self) -> Result<usize> {
        let i = self.hosts.len();
        let ns = Netns::new(&format!("{}-h{i}", self.prefix))?;
        let port = format!("p{i}");
        // Create the pair in the switch namespace, then move one end into the host.
        self.switch.exec(&[
            "ip", "link", "add", &port, "type", "veth", "peer", "name", "eth0",
        ])?;
        self.switch
            .exec(&["ip", "link", "set", "eth0", "netns", &ns.name])?;
        self.switch
            .exec(&["ip", "link", "set", &port, "master", "br0", "up"])?;
        let mac = format!("02:00:00:00:{:02x}:{:02x}", self.id, i + 1);
        ns.exec(&["ip", "link", "set", "eth0", "address", &mac])?;
        ns.sysctl("net.ipv6.conf.eth0.accept_dad", "0")?;
        ns.exec(&["ip", "link", "set", "eth0", "up"])?;
        ns.exec(&[
            "ip",
            "addr",
            "add",
            &format!("192.0.2.{}/24", 10 + i),
            "dev",
            "eth0",
        ])?;
        ns.exec(&[
            "ip",
            "addr",
            "add",
            &format!("2001:db8::{}/64", 10 + i),
            "dev",
            "eth0",
            "nodad",
        ])?;
        self.hosts.push(ns);
        Ok(i)
    }

    /// A further segment `k` (1..=12): its own bridge `br<k>` in the switch namespace, with
    /// hosts `0..hosts` attached through `eth<k>` (switch port `p<i>s<k>`). Host `i` gets
    /// 203.0.113.(16k + 10 + i)/28 there: a subnet per segment, as on a router with several
    /// VLANs; a VRRPv3 advert's source is the interface's primary address (RFC 5798 §5.1.1.1).
    pub fn add_segment(&self, k: usize, hosts: usize) -> Result<()> {
        anyhow::ensure!(
            (1..=12).contains(&k) && hosts <= 5,
            "segment {k} with {hosts} hosts: allowed 1..=12 and at most 5"
        );
        let br = format!("br{k}");
        add_bridge(&self.switch, &br)?;
        let ifname = format!("eth{k}");
        for (i, ns) in self.hosts.iter().take(hosts).enumerate() {
            let port = format!("p{i}s{k}");
            self.switch.exec(&[
                "ip", "link", "add", &port, "type", "veth", "peer", "name", &ifname,
            ])?;
            self.switch
                .exec(&["ip", "link", "set", &ifname, "netns", &ns.name])?;
            self.switch
                .exec(&["ip", "link", "set", &port, "master", &br, "up"])?;
            let mac = format!("02:00:{k:02x}:00:{:02x}:{:02x}", self.id, i + 1);
            ns.exec(&["ip", "link", "set", &ifname, "address", &mac])?;
            ns.sysctl(&format!("net.ipv6.conf.{ifname}.accept_dad"), "0")?;
            ns.exec(&["ip", "link", "set", &ifname, "up"])?;
            ns.exec(&[
                "ip",
                "addr",
                "add",
                &format!("{}/28", Self::segment_v4(k, i)),
                "dev",
                &ifname,
            ])?;
        }
        Ok(())
    }

    /// Host `i`'s IPv4 address on segment `k` (0: the first, 192.0.2.0/24).
    pub fn segment_v4(k: usize, i: usize) -> String {
        if k == 0 {
            format!("192.0.2.{}", 10 + i)
        } else {
            format!("203.0.113.{}", 16 * k + 10 + i)
        }
    }

    /// The IPv4 address of host `i`.
    pub fn v4(&self, i: usize) -> String {
        format!("192.0.2.{}", 10 + i)
    }

    /// The switch-side port of host `i` (to cut or restore its link).
    pub fn port(&self, i: usize) -> String {
        format!("p{i}")
    }

    /// Link state of host `i`'s cable, from the switch side.
    pub fn set_cable(&self, i: usize, up: bool) -> Result<()> {
        self.switch
            .exec(&[
                "ip",
                "link",
                "set",
                &self.port(i),
                if up { "up" } else { "down" },
            ])
            .map(drop)
    }
}

/// A bridge `name` in the switch namespace, up: no multicast snooping (every port hears the
/// VRRP group), no forwarding delay.
fn add_bridge(switch: &Netns, name: &str) -> Result<()> {
    switch.exec(&[
        "ip",
        "link",
        "add",
        name,
        "type",
        "bridge",
        "mcast_snooping",
        "0",
        "forward_delay",
        "0",
    ])?;
    switch.exec(&["ip", "link", "set", name, "up"]).map(drop)
}

/// A process running in a namespace with its output in a log file; killed (SIGKILL) on drop
/// unless it already exited.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
    pub what: String,
}

impl Proc {
    /// Starts `argv` in `ns`, stdout and stderr to `log`.
    pub fn spawn(ns: &Netns, argv: &[&str], log: &Path) -> Result<Proc> {
        let f = File::create(log).with_context(|| format!("create {}", log.display()))?;
        let child = ns
            .cmd(argv)
            .stdin(Stdio::null())
            .stdout(f.try_clone()?)
            .stderr(f)
            .spawn()
            .with_context(|| format!("spawn {argv:?} in {}", ns.name))?;
        Ok(Proc {
            child,
            log: log.to_path_buf(),
            what: format!("{argv:?} in {}", ns.name),
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends a signal (e.g. libc::SIGTERM) to the process.
    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) has no memory effects; failure (already gone) is harmless.
        unsafe {
            libc::kill(self.pid(), sig);
        }
    }

    /// Waits up to `timeout` for the process to exit; returns its exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<Option<i32>> {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait()? {
                return Ok(st.code());
            }
            if t0.elapsed() > timeout {
                bail!("{} did not exit within {timeout:?}", self.what);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `f` every 20 ms until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let t0 = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if t0.elapsed() > timeout {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the tests run as root; root-only tests print a SKIP line and return otherwise.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}
