//! CPU and memory at scale, side by side with keepalived: N VRRPv3 instances (one /32 VIP each)
//! on one interface or spread over several (each its own bridge), a Master and a Backup on a bridge in namespaces, an observer capturing
//! every advert. Per daemon (Master and Backup): CPU seconds per second of its whole process
//! tree (utime + stime, all threads and children, from /proc), peak RSS (VmHWM summed over the
//! tree); on the wire: adverts per second against nominal, advert gap p99 / max per VRID; and
//! transitions during the window after settling (every one is spurious: expected 0).
//!
//! Default cells: 1, 16 and 255 instances on one interface and 1,000 over four, at 10 ms,
//! 100 ms and 1 s adverts, 60 s windows, 3 runs per daemon alternated (A B A B). `--quick`:
//! 16 and 255 instances at 10 ms on one interface and 64 over four, one 3 s window each.
//! `--instances N --interval X --interfaces K --window S` measure one cell; `--runs R`;
//! `--daemon ours|keepalived` runs one side only. Prints a markdown
//! table, writes JSON and SVG; never fails on a threshold.

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::json;
use vrrp_tests::bench::{self, Summary};
use vrrp_tests::scale::{self, Cfg, Daemon, Fig};
use vrrp_tests::topo::is_root;

/// "10ms", "1s", "0.5s", "250us" -> microseconds.
fn parse_interval(s: &str) -> Option<u64> {
    let (num, mul) = if let Some(v) = s.strip_suffix("ms") {
        (v, 1e3)
    } else if let Some(v) = s.strip_suffix("us") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1e6)
    } else {
        (s, 1e6)
    };
    num.parse::<f64>().ok().map(|v| (v * mul).round() as u64)
}

fn iv_label(us: u64) -> String {
    if us >= 1_000_000 && us.is_multiple_of(1_000_000) {
        format!("{} s", us / 1_000_000)
    } else {
        format!("{} ms", us as f64 / 1000.0)
    }
}

fn main() -> std::process::ExitCode {
    bench::install_stop_handler();
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-scale: {e:#}");
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
    // (instances, interval µs, interfaces)
    let cells: Vec<(usize, u64, usize)> = match (
        bench::arg("--instances"),
        bench::arg("--interval"),
        bench::arg("--interfaces"),
    ) {
        (None, None, None) if quick => vec![(16, 10_000, 1), (255, 10_000, 1), (64, 10_000, 4)],
        (None, None, None) => [10_000, 100_000, 1_000_000]
            .into_iter()
            .flat_map(|iv| [(1, iv, 1), (16, iv, 1), (255, iv, 1), (1000, iv, 4)])
            .collect(),
        (n, iv, k) => {
            let k = k.and_then(|v| v.parse().ok()).unwrap_or(1).clamp(1, 4);
            vec![(
                n.and_then(|v| v.parse().ok())
                    .unwrap_or(16)
                    .clamp(1, 255 * k),
                iv.and_then(|v| parse_interval(&v)).unwrap_or(10_000),
                k,
            )]
        }
    };
    let daemons: Vec<Daemon> = match bench::arg("--daemon").as_deref() {
        Some("ours") => vec![Daemon::Ours],
        Some("keepalived") => vec![Daemon::Keepalived],
        Some(other) => bail!("--daemon {other}: allowed ours or keepalived"),
        None => vec![Daemon::Ours, Daemon::Keepalived],
    };
    let mut all: Vec<(usize, u64, usize, Daemon, Vec<Fig>)> = Vec::new();
    for &(n, iv, k) in &cells {
        let cfg = Cfg {
            instances: n,
            interfaces: k,
            interval_us: iv,
            window: Duration::from_secs_f64(window),
            flood_threads: 0,
        };
        let mut figs: Vec<Vec<Fig>> = vec![Vec::new(); daemons.len()];
        for _ in 0..runs {
            for (k, &who) in daemons.iter().enumerate() {
                if bench::stopped() {
                    break;
                }
                match scale::run(who, &cfg, "bs") {
                    Ok(f) => figs[k].push(f),
                    Err(e) => eprintln!(
                        "{} {n}×{} on {k} interface(s): run failed: {e:#}",
                        who.label(),
                        iv_label(iv)
                    ),
                }
            }
        }
        for (who, f) in daemons.iter().zip(figs) {
            all.push((n, iv, k, *who, f));
        }
        if bench::stopped() {
            break;
        }
    }
    println!("## CPU and memory at scale, side by side with keepalived\n");
    println!(
        "Machine: {}. Master (priority 150) and Backup (100) on one bridge per interface, an observer capturing every advert; VRRPv3, one /32 VIP per instance; windows of {window} s after settling; {runs} run(s) per daemon, alternated; median (min–max) over runs. CPU: utime+stime of the daemon's process tree per second of wall time (softirq work on behalf of the daemon, e.g. generic XDP, is not in it).\n",
        bench::machine()
    );
    println!(
        "| instances | interfaces | advert | daemon | Master CPU s/s | Backup CPU s/s | Master peak RSS MiB | Backup peak RSS MiB | adverts/s on the wire | % of nominal | gap p99 ms | gap max ms | spurious transitions |"
    );
    println!("|---:|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut cells_json = Vec::new();
    for (n, iv, k, who, figs) in &all {
        let col = |f: fn(&Fig) -> f64| figs.iter().map(f).collect::<Vec<f64>>();
        let spurious: u64 = figs
            .iter()
            .map(|f| f.master.transitions + f.backup.transitions + f.backup_adverts.min(1))
            .sum();
        let unsettled = figs.iter().filter(|f| !f.settled).count();
        println!(
            "| {n} | {k} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            iv_label(*iv),
            who.label(),
            bench::show(&col(|f| f.master.cpu_per_s), 4),
            bench::show(&col(|f| f.backup.cpu_per_s), 4),
            bench::show(&col(|f| f.master.hwm_kib as f64 / 1024.0), 1),
            bench::show(&col(|f| f.backup.hwm_kib as f64 / 1024.0), 1),
            bench::show(&col(|f| f.adverts_per_s), 0),
            bench::show(&col(|f| 100.0 * f.adverts_per_s / f.nominal_per_s), 1),
            bench::show(&col(|f| f.gap_p99_ms), 2),
            bench::show(&col(|f| f.gap_max_ms), 2),
            if figs.is_empty() {
                "-".into()
            } else if unsettled > 0 {
                format!("{spurious} (never settled in {unsettled} run(s))")
            } else {
                spurious.to_string()
            },
        );
        let runs_json: Vec<_> = figs
            .iter()
            .map(|f| {
                json!({"master_cpu_s_per_s": f.master.cpu_per_s, "backup_cpu_s_per_s": f.backup.cpu_per_s,
                    "master_hwm_kib": f.master.hwm_kib, "backup_hwm_kib": f.backup.hwm_kib,
                    "master_transitions": f.master.transitions, "backup_transitions": f.backup.transitions,
                    "backup_adverts_seen": f.backup_adverts,
                    "adverts_per_s": f.adverts_per_s, "nominal_per_s": f.nominal_per_s,
                    "gap_p99_ms": f.gap_p99_ms, "gap_max_ms": f.gap_max_ms,
                    "jitter_p99_ms": f.jitter_p99_ms, "observer_drops": f.observer_drops, "settled": f.settled})
            })
            .collect();
        cells_json.push(
            json!({"instances": n, "interfaces": k, "interval_us": iv, "daemon": who.label(),
            "master_cpu_s_per_s": Summary::of(&col(|f| f.master.cpu_per_s)).map(|s| s.json()),
            "backup_cpu_s_per_s": Summary::of(&col(|f| f.backup.cpu_per_s)).map(|s| s.json()),
            "spurious_transitions": spurious, "runs": runs_json}),
        );
    }
    let drops: u64 = all
        .iter()
        .flat_map(|c| c.4.iter())
        .map(|f| f.observer_drops)
        .sum();
    if drops > 0 {
        println!("\nThe observer's socket dropped {drops} frame(s): wire counts are lower bounds.");
    }
    println!(
        "\nspurious transitions: state changes of either node during the window (ours: became_master and last_transition from the status socket; keepalived: \"Entering MASTER/BACKUP STATE\" log lines), plus 1 per run where the Backup's adverts were seen."
    );
    bench::write_json(
        quick,
        "scale.json",
        &json!({"bench": "bench-scale", "machine": bench::machine(), "quick": quick,
            "window_s": window, "runs": runs, "cells": cells_json}),
    );
    let mut rows = Vec::new();
    for (n, iv, k, who, figs) in &all {
        for (role, f) in [
            ("Master", (|f: &Fig| f.master.cpu_per_s) as fn(&Fig) -> f64),
            ("Backup", |f: &Fig| f.backup.cpu_per_s),
        ] {
            rows.push((
                format!(
                    "{n} × {}{}, {role}, {}",
                    iv_label(*iv),
                    if *k > 1 {
                        format!(" on {k} interfaces")
                    } else {
                        String::new()
                    },
                    who.label()
                ),
                figs.iter().map(f).collect::<Vec<f64>>(),
            ));
        }
    }
    bench::write_svg(
        quick,
        "scale-cpu.svg",
        &bench::svg_strip(
            "CPU seconds per second of each daemon (process tree)",
            "CPU s/s",
            &rows,
        ),
    );
    Ok(())
}
