//! Test helpers: root detection and SKIP lines, network namespaces with guards that clean up,
//! running commands and closures inside a namespace, and byte-by-byte frame builders.

pub mod agent;
pub mod bench;
pub mod fixtures;
pub mod frames;
pub mod keepalived;
pub mod scale;
pub mod topo;

use std::{
    process::{Command, Output},
    sync::atomic::{AtomicU32, Ordering},
};

/// Whether the tests run as root (they need it for BPF and namespaces).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Prints the line that says a test was skipped, and why.
pub fn skip(why: &str) {
    println!("SKIP: {why}");
    eprintln!("SKIP: {why}");
}

/// Runs a command, returning its output; `Err` with stderr if it could not run or failed.
pub fn run(args: &[&str]) -> anyhow::Result<Output> {
    let (prog, rest) = args
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("empty command"))?;
    let out = Command::new(prog).args(rest).output()?;
    if !out.status.success() {
        anyhow::bail!(
            "{} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out)
}

/// Runs a command without caring whether it succeeds (cleanup paths).
pub fn run_quiet(args: &[&str]) {
    if let Some((prog, rest)) = args.split_first() {
        let _ = Command::new(prog).args(rest).output();
    }
}

/// A network namespace that is deleted (with everything in it) when dropped, even on panic.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

static NEXT_NS: AtomicU32 = AtomicU32::new(0);

impl Netns {
    /// Creates `vt-<tag>-<pid>-<n>` with loopback up.
    pub fn new(tag: &str) -> anyhow::Result<Self> {
        let n = NEXT_NS.fetch_add(1, Ordering::Relaxed);
        let name = format!("vt-{tag}-{}-{n}", std::process::id());
        run(&["ip", "netns", "add", &name])?;
        let ns = Netns { name };
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs a command inside the namespace (`ip netns exec`).
    pub fn exec(&self, args: &[&str]) -> anyhow::Result<Output> {
        let mut all = vec!["ip", "netns", "exec", &self.name];
        all.extend_from_slice(args);
        run(&all)
    }

    /// Runs a command inside the namespace and returns its output whatever its exit status.
    pub fn exec_status(&self, args: &[&str]) -> anyhow::Result<Output> {
        Ok(Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .output()?)
    }

    /// Runs `f` on a fresh thread that has entered the namespace (so netlink and interface names
    /// resolve there), and returns its result.
    pub fn enter<R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> anyhow::Result<R> {
        let path = format!("/run/netns/{}", self.name);
        let handle = std::thread::spawn(move || -> anyhow::Result<R> {
            let file = std::fs::File::open(&path)?;
            nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)?;
            Ok(f())
        });
        handle
            .join()
            .map_err(|_| anyhow::anyhow!("thread in namespace panicked"))?
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        run_quiet(&["ip", "netns", "del", &self.name]);
    }
}

/// Creates a veth pair `a` in `ns_a` and `b` in `ns_b`, both up.
pub fn veth(ns_a: &Netns, a: &str, ns_b: &Netns, b: &str) -> anyhow::Result<()> {
    ns_a.exec(&[
        "ip",
        "link",
        "add",
        a,
        "type",
        "veth",
        "peer",
        "name",
        b,
        "netns",
        ns_b.name(),
    ])?;
    ns_a.exec(&["ip", "link", "set", a, "up"])?;
    ns_b.exec(&["ip", "link", "set", b, "up"])?;
    Ok(())
}

/// The MAC address of `dev` in `ns`.
pub fn mac_of(ns: &Netns, dev: &str) -> anyhow::Result<[u8; 6]> {
    let out = ns.exec(&["cat", &format!("/sys/class/net/{dev}/address")])?;
    frames::parse_mac(String::from_utf8_lossy(&out.stdout).trim())
        .ok_or_else(|| anyhow::anyhow!("bad MAC for {dev}"))
}
