//! Behaviour under an ARP flood, side by side with keepalived: 16 VRRPv3 instances at 10 ms on
//! one interface (Master priority 150, Backup 100, an observer, all on a bridge in namespaces);
//! a fourth host floods the Master with ARP requests for its VIPs at the generator's top rate
//! (AF_PACKET sendmmsg, one thread per CPU, unicast to the Master's MAC so the bridge gives the
//! flood to it alone). vrrp-agent answers in generic XDP; keepalived leaves the answers to the
//! kernel. Figures: spurious transitions on either node (expected 0), advert interval jitter
//! (|gap − 10 ms|) p99 and the largest gap from the observer's capture, adverts against
//! nominal, daemon CPU, and the flood's send and answer rates.
//!
//! `--quick`: one 3 s window per daemon; default 3 runs of 60 s, alternated A B A B;
//! `--instances N --interval X --window S --runs R --threads T`. Prints a markdown table,
//! writes JSON and SVG; never fails on a threshold.

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::json;
use vrrp_tests::bench::{self, Summary};
use vrrp_tests::scale::{self, Cfg, Daemon, Fig};
use vrrp_tests::topo::is_root;

fn main() -> std::process::ExitCode {
    bench::install_stop_handler();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-flood: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    if !is_root() {
        bail!("needs root (network namespaces, XDP)");
    }
    let quick = bench::quick();
    let window = bench::arg("--window")
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(if quick { 3.0 } else { 60.0 });
    let runs: usize = bench::arg("--runs")
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 3 });
    let instances: usize = bench::arg("--instances")
        .and_then(|v| v.parse().ok())
        .unwrap_or(16)
        .clamp(1, 255);
    let interval_us: u64 = bench::arg("--interval")
        .and_then(|v| {
            v.strip_suffix("ms")
                .and_then(|m| m.parse::<f64>().ok())
                .map(|m| (m * 1000.0) as u64)
        })
        .unwrap_or(10_000);
    let threads: usize = bench::arg("--threads")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(bench::nproc);
    let cfg = Cfg {
        interfaces: 1,
        instances,
        interval_us,
        window: Duration::from_secs_f64(window),
        flood_threads: threads,
    };
    let daemons = [Daemon::Ours, Daemon::Keepalived];
    let mut figs: [Vec<Fig>; 2] = [Vec::new(), Vec::new()];
    'outer: for _ in 0..runs {
        for (k, &who) in daemons.iter().enumerate() {
            if bench::stopped() {
                break 'outer;
            }
            match scale::run(who, &cfg, "bfl") {
                Ok(f) => figs[k].push(f),
                Err(e) => eprintln!("{}: run failed: {e:#}", who.label()),
            }
        }
    }
    println!("## Under an ARP flood aimed at the Master, side by side with keepalived\n");
    println!(
        "Machine: {}. {instances} instances at {} ms, Master/Backup/observer/generator on a bridge; generator: {threads} thread(s), AF_PACKET sendmmsg, unicast ARP requests for the VIPs from 16 sources; windows of {window} s after settling; {runs} run(s) per daemon, alternated; median (min–max).\n",
        bench::machine(),
        interval_us as f64 / 1000.0
    );
    println!(
        "| daemon | flood sent/s | ARP answers/s | spurious transitions | advert jitter p99 ms | gap max ms | adverts % of nominal | Master CPU s/s | Backup CPU s/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut out = Vec::new();
    for (k, who) in daemons.iter().enumerate() {
        let f = &figs[k];
        let col = |g: fn(&Fig) -> f64| f.iter().map(g).collect::<Vec<f64>>();
        let spurious: u64 = f
            .iter()
            .map(|x| x.master.transitions + x.backup.transitions + x.backup_adverts.min(1))
            .sum();
        let unsettled = f.iter().filter(|x| !x.settled).count();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            who.label(),
            bench::show(&col(|x| x.flood_sent_per_s), 0),
            bench::show(&col(|x| x.flood_answers_per_s), 0),
            if f.is_empty() {
                "-".into()
            } else if unsettled > 0 {
                format!("{spurious} (never settled in {unsettled} run(s))")
            } else {
                spurious.to_string()
            },
            bench::show(&col(|x| x.jitter_p99_ms), 3),
            bench::show(&col(|x| x.gap_max_ms), 2),
            bench::show(&col(|x| 100.0 * x.adverts_per_s / x.nominal_per_s), 1),
            bench::show(&col(|x| x.master.cpu_per_s), 3),
            bench::show(&col(|x| x.backup.cpu_per_s), 3),
        );
        out.push(json!({"daemon": who.label(), "spurious_transitions": spurious,
            "jitter_p99_ms": Summary::of(&col(|x| x.jitter_p99_ms)).map(|s| s.json()),
            "flood_sent_per_s": Summary::of(&col(|x| x.flood_sent_per_s)).map(|s| s.json()),
            "runs": f.iter().map(|x| json!({"flood_sent_per_s": x.flood_sent_per_s,
                "flood_answers_per_s": x.flood_answers_per_s, "jitter_p99_ms": x.jitter_p99_ms,
                "gap_p99_ms": x.gap_p99_ms, "gap_max_ms": x.gap_max_ms,
                "adverts_per_s": x.adverts_per_s, "nominal_per_s": x.nominal_per_s,
                "master_transitions": x.master.transitions, "backup_transitions": x.backup.transitions,
                "backup_adverts_seen": x.backup_adverts,
                "master_cpu_s_per_s": x.master.cpu_per_s, "backup_cpu_s_per_s": x.backup.cpu_per_s,
                "observer_drops": x.observer_drops, "settled": x.settled})).collect::<Vec<_>>()}));
    }
    bench::write_json(
        quick,
        "flood.json",
        &json!({"bench": "bench-flood", "machine": bench::machine(), "quick": quick,
            "instances": instances, "interval_us": interval_us, "threads": threads,
            "window_s": window, "daemons": out}),
    );
    let rows: Vec<(String, Vec<f64>)> = daemons
        .iter()
        .enumerate()
        .map(|(k, who)| {
            (
                format!("{}: jitter p99", who.label()),
                figs[k].iter().map(|x| x.jitter_p99_ms).collect(),
            )
        })
        .collect();
    bench::write_svg(
        quick,
        "flood-jitter.svg",
        &bench::svg_strip("Advert interval jitter p99 under an ARP flood", "ms", &rows),
    );
    Ok(())
}
