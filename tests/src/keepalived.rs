//! keepalived 2.2.7 (Debian) as a real VRRP peer in a test namespace: config generation, a
//! foreground process with its own pid files, and its role read from the VIP's presence.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::topo::{Netns, Proc};

/// One keepalived vrrp_instance, in the terms the interop tests need.
#[derive(Clone, Debug)]
pub struct KaInstance {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    /// 2 or 3.
    pub version: u8,
    pub priority: u8,
    /// Advert interval in seconds (v3 allows 0.01 steps).
    pub advert_int: f64,
    pub preempt: bool,
    /// VIPs with prefix, e.g. "192.0.2.100/24" or "2001:db8::100/64".
    pub vips: Vec<String>,
    pub ipv6: bool,
}

impl KaInstance {
    fn render(&self, out: &mut String) {
        let _ = writeln!(out, "vrrp_instance {} {{", self.name);
        let _ = writeln!(out, "  state BACKUP\n  interface {}", self.interface);
        let _ = writeln!(
            out,
            "  virtual_router_id {}\n  priority {}",
            self.vrid, self.priority
        );
        let _ = writeln!(
            out,
            "  version {}\n  advert_int {}",
            self.version, self.advert_int
        );
        if self.ipv6 {
            let _ = writeln!(out, "  native_ipv6");
        }
        if !self.preempt {
            let _ = writeln!(out, "  nopreempt");
        }
        let _ = writeln!(out, "  virtual_ipaddress {{");
        for v in &self.vips {
            let _ = writeln!(out, "    {v}");
        }
        let _ = writeln!(out, "  }}\n}}");
    }
}

/// Renders a whole keepalived.conf: VRRP only, scripts allowed as root, no vrrp_strict (it
/// installs nftables rules that drop traffic to the VIP).
pub fn render_config(instances: &[KaInstance]) -> String {
    let mut s = String::from(
        "global_defs {\n  router_id ka_test\n  enable_script_security\n  script_user root\n  vrrp_garp_master_delay 1\n}\n",
    );
    for i in instances {
        i.render(&mut s);
    }
    s
}

/// keepalived running in the foreground in `ns`; killed on drop (see [`Proc`]).
pub struct Keepalived {
    pub proc: Proc,
    pub dir: PathBuf,
}

impl Keepalived {
    /// Writes the config into `dir` and starts keepalived (in its own session) with private pid files (the defaults
    /// in /run are shared between namespaces).
    pub fn start(ns: &Netns, dir: &Path, instances: &[KaInstance]) -> Result<Keepalived> {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let conf = dir.join("keepalived.conf");
        std::fs::write(&conf, render_config(instances))?;
        let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
        // setsid: its own session and process group, so a Ctrl-C meant for the test or bench
        // does not reach it (the guards stop it); without a fork, the pid stays the same.
        let argv = [
            "setsid",
            "keepalived",
            "-n",
            "-l",
            "-D",
            "-P",
            "-f",
            &p("keepalived.conf"),
            "-p",
            &p("keepalived.pid"),
            "-r",
            &p("vrrp.pid"),
            "-c",
            &p("check.pid"),
            "-b",
            &p("bfd.pid"),
        ];
        let proc = Proc::spawn(ns, &argv, &dir.join("keepalived.log"))?;
        Ok(Keepalived {
            proc,
            dir: dir.to_path_buf(),
        })
    }
}

/// Whether `addr` (without prefix) is configured on any interface of `ns`: keepalived's Master
/// holds its VIPs, a Backup does not.
pub fn has_address(ns: &Netns, addr: &str) -> bool {
    ns.exec(&["ip", "-o", "addr", "show"])
        .map(|s| {
            s.split_whitespace()
                .any(|w| w.split('/').next() == Some(addr))
        })
        .unwrap_or(false)
}
