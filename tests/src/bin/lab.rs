//! The lab (`./x demo`): two routers running vrrp-agent and a client on a bridge, all in network
//! namespaces. Shows the election, the client resolving the VIP to the virtual MAC (answered by
//! XDP: the counter moves), a failover after `kill -9` of the Master with its timing, IPv6 ND,
//! and tears everything down — also on Ctrl-C.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use vrrp_tests::agent::Agent;
use vrrp_tests::topo::{Lan, Netns, is_root, wait_for};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn step(title: &str) -> Result<()> {
    if STOP.load(Ordering::SeqCst) {
        bail!("interrupted");
    }
    println!("\n== {title}");
    Ok(())
}

fn sh(ns: &Netns, argv: &[&str]) -> String {
    let out = ns
        .cmd(argv)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    println!("{}$ {}\n{}", ns.name, argv.join(" "), out.trim_end());
    out
}

fn counter(a: &Agent, name: &str) -> u64 {
    a.status()
        .map(|s| {
            s.interfaces
                .iter()
                .filter_map(|i| i.counters.get(name))
                .sum()
        })
        .unwrap_or(0)
}

fn show(a: &Agent, who: &str) {
    match a.status() {
        Ok(s) => print!("-- {who}\n{}", s.render()),
        Err(e) => println!("-- {who}: no answer ({e})"),
    }
}

fn main() -> std::process::ExitCode {
    match lab() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lab: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn lab() -> Result<()> {
    if !is_root() {
        bail!("the lab makes network namespaces and attaches XDP: run it as root (./x demo)");
    }
    // SAFETY: installing an async-signal-safe handler that only stores to an atomic.
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
    let etc = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../etc/lab");
    std::fs::create_dir_all("/run/vrrp-lab")?;
    let res = demo(&etc);
    if res.is_ok() {
        let _ = std::fs::remove_dir_all("/run/vrrp-lab");
    } else {
        println!("agent logs kept in /run/vrrp-lab");
    }
    println!("\n== teardown: agents stopped, namespaces deleted");
    res
}

fn demo(etc: &std::path::Path) -> Result<()> {
    step("topology: r1, r2 and a client on a bridge (192.0.2.0/24, 2001:db8::/64)")?;
    let lan = Lan::new("vlab", 3).context("topology")?;
    let client = &lan.hosts[2];
    let logs = PathBuf::from("/run/vrrp-lab");
    let start = |i: usize, name: &str| -> Result<Agent> {
        let cfg = std::fs::read_to_string(etc.join(format!("{name}.yaml")))?;
        let dir = logs.join(name);
        std::fs::create_dir_all(&dir)?;
        let yaml = cfg.replace(
            &format!("/run/vrrp-lab/{name}.sock"),
            &dir.join("control.sock").to_string_lossy(),
        );
        Agent::start(&lan.hosts[i], &dir, &yaml)
    };
    step("start vrrp-agent on r1 (priority 150) and r2 (priority 100), VRRPv3 at 100 ms")?;
    let r1 = start(0, "r1")?;
    let r2 = start(1, "r2")?;
    r1.wait_state("VI_1", "MASTER", Duration::from_secs(5))?;
    r2.wait_state("VI_1", "BACKUP", Duration::from_secs(5))?;
    r1.wait_state("VI_6", "MASTER", Duration::from_secs(5))?;
    show(&r1, "r1");
    show(&r2, "r2");

    step("the client resolves the VIP: answered in XDP on r1 with the virtual MAC")?;
    let before = counter(&r1, "arp_replied");
    sh(
        client,
        &["arping", "-c", "2", "-w", "2", "-I", "eth0", "192.0.2.100"],
    );
    println!(
        "r1 XDP arp_replied: {before} -> {}",
        counter(&r1, "arp_replied")
    );
    println!(
        "r2 XDP arp_dropped_backup: {}",
        counter(&r2, "arp_dropped_backup")
    );
    sh(client, &["ping", "-c", "2", "-W", "1", "192.0.2.100"]);
    sh(
        client,
        &["ndisc6", "-1", "-r", "2", "2001:db8::100", "eth0"],
    );

    step("kill -9 the Master (r1): r2 takes over after Master_Down_Interval (RFC 5798 §6.4.2)")?;
    let bound = Duration::from_micros(3 * 100_000 + (256 - 100) * 100_000 / 256);
    let t0 = Instant::now();
    r1.proc.signal(libc::SIGKILL);
    let took = wait_for(Duration::from_secs(3), || {
        (r2.state("VI_1") == "MASTER").then(|| t0.elapsed())
    });
    match took {
        Some(t) => println!(
            "r2 is MASTER {:.1} ms after the kill (RFC bound from the last advert: {:.1} ms)",
            t.as_secs_f64() * 1e3,
            bound.as_secs_f64() * 1e3
        ),
        None => println!("r2 did not take over within 3 s"),
    }
    std::thread::sleep(Duration::from_millis(600));
    sh(client, &["ip", "neigh", "flush", "dev", "eth0"]);
    sh(
        client,
        &["arping", "-c", "2", "-w", "2", "-I", "eth0", "192.0.2.100"],
    );
    println!("r2 XDP arp_replied: {}", counter(&r2, "arp_replied"));
    show(&r2, "r2");
    println!(
        "(r1 was killed without cleanup: its VIP is still configured, but its XDP program dropped\n the ARP for it once the heartbeat went stale, so only r2 answers.)"
    );
    drop(r1);
    Ok(())
}
