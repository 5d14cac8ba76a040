//! ARP answer rate for a VIP, side by side: vrrp-agent Master answering in generic XDP on a veth
//! versus the kernel's own ARP (the VIP configured on the interface, no XDP, no agent — what
//! keepalived relies on), in the same topology with the same generator. A third mode, requests
//! for an address nobody holds, measures the generator's own ceiling on this topology.
//!
//! Topology: a direct veth pair generator <-> router, each end in its own namespace (no bridge).
//! Generator: one AF_PACKET socket per thread (default: one per CPU), sendmmsg batches of 64
//! prebuilt broadcast ARP requests from 64 source MACs/IPs, PACKET_QDISC_BYPASS. Answers are
//! counted from the generator interface's rx_packets (its ARP is off, so answers are dropped at
//! once), minus the background rate measured just before. Modes alternate run by run.
//!
//! `--quick`: 2 runs of 2 s per mode; default 5 runs of 10 s; `--runs N`, `--seconds S`,
//! `--threads T`. Prints a markdown table, writes JSON and an SVG; never fails on a threshold.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::json;
use vrrp_tests::agent::{Agent, Inst, render_config};
use vrrp_tests::bench::{self, Flood, Summary};
use vrrp_tests::frames::BROADCAST;
use vrrp_tests::topo::{Netns, is_root, unique_prefix};

const VIP: [u8; 4] = [192, 0, 2, 100];
const NOBODY: [u8; 4] = [192, 0, 2, 200];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Xdp,
    Kernel,
    Ceiling,
}

impl Mode {
    fn label(self) -> &'static str {
        match self {
            Mode::Xdp => "vrrp-agent Master (generic XDP)",
            Mode::Kernel => "kernel ARP (keepalived's way)",
            Mode::Ceiling => "no answer (generator ceiling)",
        }
    }
    fn key(self) -> &'static str {
        match self {
            Mode::Xdp => "xdp",
            Mode::Kernel => "kernel",
            Mode::Ceiling => "ceiling",
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Run {
    sent_per_s: f64,
    answers_per_s: f64,
    xdp_answered_per_s: f64,
    cpu_busy: f64,
    softirq: f64,
}

/// Aggregate CPU jiffies from /proc/stat: (total, idle + iowait, softirq).
fn cpu_jiffies() -> (u64, u64, u64) {
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let v: Vec<u64> = s
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let g = |i: usize| v.get(i).copied().unwrap_or(0);
    (v.iter().take(8).sum(), g(3) + g(4), g(6))
}

fn xdp_answered(a: &Agent) -> u64 {
    a.status()
        .map(|s| {
            s.interfaces
                .iter()
                .filter_map(|i| i.counters.get("arp_replied"))
                .sum()
        })
        .unwrap_or(0)
}

fn run_once(mode: Mode, secs: f64, threads: usize) -> Result<Run> {
    let p = unique_prefix("ba");
    let gen_ns = Netns::new(&format!("{p}-gen"))?;
    let rt = Netns::new(&format!("{p}-rt"))?;
    gen_ns.exec(&[
        "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", &rt.name,
    ])?;
    gen_ns.exec(&["ip", "link", "set", "eth0", "address", "02:00:00:00:fe:02"])?;
    rt.exec(&["ip", "link", "set", "eth0", "address", "02:00:00:00:fe:01"])?;
    // The generator's kernel drops the answers at once (IFF_NOARP): they cost it almost nothing.
    gen_ns.exec(&["ip", "link", "set", "eth0", "arp", "off", "up"])?;
    rt.sysctl("net.ipv6.conf.eth0.disable_ipv6", "1")?;
    gen_ns.sysctl("net.ipv6.conf.eth0.disable_ipv6", "1")?;
    rt.exec(&["ip", "link", "set", "eth0", "up"])?;
    rt.exec(&["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"])?;
    let dir = std::path::PathBuf::from("/run").join(format!("vrrp-bench-{p}"));
    let _dir_guard = DirGuard(dir.clone());
    let agent = match mode {
        Mode::Xdp => {
            let inst = Inst::v4("VI", 51, 150, "192.0.2.100/24").interval("100ms");
            let yaml = render_config(&dir, "1s", "", &[inst]);
            let a = Agent::start(&rt, &dir, &yaml)?;
            a.wait_state("VI", "MASTER", Duration::from_secs(5))?;
            Some(a)
        }
        Mode::Kernel => {
            rt.exec(&["ip", "addr", "add", "192.0.2.100/24", "dev", "eth0"])?;
            None
        }
        Mode::Ceiling => None,
    };
    let target = if mode == Mode::Ceiling { NOBODY } else { VIP };
    let frames = bench::arp_requests(BROADCAST, 64, [192, 0, 2, 20], &[target]);
    // Background (adverts, announcements): rate over half a second, subtracted below.
    let b0 = bench::if_counter(&gen_ns, "eth0", "rx_packets")?;
    let tb = Instant::now();
    bench::nap(Duration::from_millis(500));
    let bg_rate = (bench::if_counter(&gen_ns, "eth0", "rx_packets")? - b0) as f64
        / tb.elapsed().as_secs_f64();
    let flood = Flood::start(&gen_ns, "eth0", frames, threads)?;
    bench::nap(Duration::from_millis(300)); // warm-up
    let (s0, r0, c0) = (
        flood.sent(),
        bench::if_counter(&gen_ns, "eth0", "rx_packets")?,
        cpu_jiffies(),
    );
    let x0 = agent.as_ref().map_or(0, xdp_answered);
    let t0 = Instant::now();
    if !bench::nap(Duration::from_secs_f64(secs)) {
        bail!("interrupted");
    }
    let (s1, r1, c1) = (
        flood.sent(),
        bench::if_counter(&gen_ns, "eth0", "rx_packets")?,
        cpu_jiffies(),
    );
    let x1 = agent.as_ref().map_or(0, xdp_answered);
    let dt = t0.elapsed().as_secs_f64();
    flood.stop();
    let tot = (c1.0 - c0.0).max(1) as f64;
    Ok(Run {
        sent_per_s: (s1 - s0) as f64 / dt,
        answers_per_s: ((r1 - r0) as f64 / dt - bg_rate).max(0.0),
        xdp_answered_per_s: (x1 - x0) as f64 / dt,
        cpu_busy: 100.0 * (1.0 - (c1.1 - c0.1) as f64 / tot),
        softirq: 100.0 * (c1.2 - c0.2) as f64 / tot,
    })
}

/// Removes a per-run directory on drop.
struct DirGuard(std::path::PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn main() -> std::process::ExitCode {
    bench::install_stop_handler();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-arp: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    if !is_root() {
        bail!("needs root (network namespaces, XDP)");
    }
    let quick = bench::quick();
    let runs: usize = bench::arg("--runs")
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2 } else { 5 });
    let secs: f64 = bench::arg("--seconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2.0 } else { 10.0 });
    let threads: usize = bench::arg("--threads")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(bench::nproc);
    let modes = [Mode::Xdp, Mode::Kernel, Mode::Ceiling];
    let mut res: Vec<Vec<Run>> = vec![Vec::new(); modes.len()];
    'outer: for _ in 0..runs {
        for (k, &m) in modes.iter().enumerate() {
            if bench::stopped() {
                break 'outer;
            }
            match run_once(m, secs, threads) {
                Ok(r) => res[k].push(r),
                Err(e) => eprintln!("{} run failed: {e:#}", m.label()),
            }
        }
    }
    println!("## ARP answer rate for a VIP: generic XDP vs the kernel's ARP\n");
    println!(
        "Machine: {}. A direct veth pair generator <-> router in two namespaces (no bridge); generator: {threads} thread(s), AF_PACKET sendmmsg batches of 64, 64 source MACs/IPs, broadcast requests; answers counted at the generator's rx_packets minus background; {} run(s) of {secs} s per mode, alternated; median (min–max).\n",
        bench::machine(),
        res[0].len().max(res[1].len())
    );
    println!(
        "| mode | requests sent/s | answers/s | answered % | answered in XDP/s | CPU busy % (all CPUs) | softirq % | CPU µs per request |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let col = |k: usize, f: fn(&Run) -> f64| res[k].iter().map(f).collect::<Vec<f64>>();
    for (k, m) in modes.iter().enumerate() {
        let pct: Vec<f64> = res[k]
            .iter()
            .map(|r| 100.0 * r.answers_per_s / r.sent_per_s.max(1.0))
            .collect();
        let nproc = bench::nproc() as f64;
        let us_per_req: Vec<f64> = res[k]
            .iter()
            .map(|r| r.cpu_busy / 100.0 * nproc * 1e6 / r.sent_per_s.max(1.0))
            .collect();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            m.label(),
            bench::show(&col(k, |r| r.sent_per_s), 0),
            bench::show(&col(k, |r| r.answers_per_s), 0),
            bench::show(&pct, 1),
            if *m == Mode::Xdp {
                bench::show(&col(k, |r| r.xdp_answered_per_s), 0)
            } else {
                "-".into()
            },
            bench::show(&col(k, |r| r.cpu_busy), 0),
            bench::show(&col(k, |r| r.softirq), 0),
            bench::show(&us_per_req, 2),
        );
    }
    let xdp = Summary::of(&col(0, |r| r.answers_per_s));
    let ker = Summary::of(&col(1, |r| r.answers_per_s));
    let ratio = match (xdp, ker) {
        (Some(x), Some(k)) if k.median > 0.0 => Some(x.median / k.median),
        _ => None,
    };
    if let Some(r) = ratio {
        println!("\nXDP / kernel answers per second (medians): {r:.2}×");
    }
    println!(
        "\nWhat limits it: the generator, the router and the answers' return all run on the same {} CPU(s) (veth hands each frame to the receiver's softirq on the sending CPU); when CPU busy is ~100 % the figure is CPU cost per request, not a line rate (CPU µs per request: busy CPU time of the whole machine over requests sent, generator included). The ceiling row is the generator with the cheapest receive path (requests for an address nobody holds): when a mode reaches it, the generator is the limit.",
        bench::nproc()
    );
    let runs_json = |k: usize| {
        res[k]
            .iter()
            .map(|r| {
                json!({"sent_per_s": r.sent_per_s, "answers_per_s": r.answers_per_s,
                    "xdp_answered_per_s": r.xdp_answered_per_s, "cpu_busy_pct": r.cpu_busy,
                    "softirq_pct": r.softirq})
            })
            .collect::<Vec<_>>()
    };
    let mut modes_json = serde_json::Map::new();
    for (k, m) in modes.iter().enumerate() {
        modes_json.insert(
            m.key().into(),
            json!({"label": m.label(), "runs": runs_json(k),
                "answers_per_s": Summary::of(&col(k, |r| r.answers_per_s)).map(|s| s.json()),
                "sent_per_s": Summary::of(&col(k, |r| r.sent_per_s)).map(|s| s.json())}),
        );
    }
    bench::write_json(
        quick,
        "arp.json",
        &json!({"bench": "bench-arp", "machine": bench::machine(), "quick": quick,
            "threads": threads, "seconds": secs, "modes": modes_json, "xdp_over_kernel": ratio}),
    );
    let rows: Vec<(String, Vec<f64>)> = vec![
        (
            "vrrp-agent XDP: answers/s".into(),
            col(0, |r| r.answers_per_s),
        ),
        (
            "vrrp-agent XDP: requests sent/s".into(),
            col(0, |r| r.sent_per_s),
        ),
        (
            "kernel ARP (keepalived): answers/s".into(),
            col(1, |r| r.answers_per_s),
        ),
        (
            "kernel ARP (keepalived): requests sent/s".into(),
            col(1, |r| r.sent_per_s),
        ),
        (
            "generator ceiling: requests sent/s".into(),
            col(2, |r| r.sent_per_s),
        ),
    ];
    bench::write_svg(
        quick,
        "arp.svg",
        &bench::svg_strip(
            "ARP answers per second for a VIP (veth, generic XDP)",
            "frames per second",
            &rows,
        ),
    );
    Ok(())
}
