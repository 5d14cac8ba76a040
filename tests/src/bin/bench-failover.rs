//! Failover timing of vrrp-agent, measured on the wire: two routers and an observer on a bridge
//! in namespaces; the observer captures every advert; the Master is stopped (SIGTERM: priority-0
//! advert, RFC 5798 §6.4.3) or killed (SIGKILL: silence); the figure is the gap between the last
//! advert of the old Master and the first advert of the new one, next to the RFC 5798 §6.4.2
//! bound (Skew_Time after a priority-0 advert, Master_Down_Interval after silence).
//! Failures: SIGTERM, kill -9, and link down (the Master's veth set down on the bridge side).
//! During each run the observer is also a client asking for the VIP by ARP once per ms: the
//! client-visible gap is its longest wait between two ARP answers around the failure, and the
//! answers per request at the end of the run (kill -9: 1.5 s after the takeover, past the
//! agent's 1 s dead-man bound) show whether the failed node still answers too.
//! The same runs are made with keepalived 2.2.7 in the same topology, alternating run by run.
//! `--quick`: 2 runs per cell at 100 ms and 10 ms (CI keeps the harness alive); default: 20
//! runs per cell at 1 s, 100 ms and 10 ms (`--runs N` to change). Prints figures, writes JSON
//! and one SVG per interval (docs/bench/ in full mode, target/bench/ in quick mode); never fails
//! on a threshold. SIGINT/SIGTERM end the bench early with everything cleaned up.
//! `--interval 10ms` keeps one interval; `BENCH_DEBUG=1` prints each run's ARP answers by MAC.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::json;
use vrrp_tests::agent::{AgentLab, Inst};
use vrrp_tests::bench::{self, Capture, Pacer};
use vrrp_tests::keepalived::{KaInstance, Keepalived, has_address};
use vrrp_tests::topo::{Proc, is_root, wait_for};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Failure {
    Graceful,
    Kill,
    LinkDown,
}

impl Failure {
    fn label(self) -> &'static str {
        match self {
            Failure::Graceful => "SIGTERM (priority 0)",
            Failure::Kill => "kill -9 (silence)",
            Failure::LinkDown => "link down (silence)",
        }
    }
}

/// One run's figures.
struct Outcome {
    /// Last advert of the old Master -> first advert of the new one, µs.
    gap_us: u64,
    /// The client's longest wait between two ARP answers for the VIP around the failure, µs.
    client_gap_us: Option<u64>,
    /// ARP answers per request at the end of the run (2 when the failed node answers as well).
    answers_per_request: Option<f64>,
}

/// RFC 5798 §6.1 (exact microseconds): Skew_Time and Master_Down_Interval for a Backup of
/// priority `prio` with adverts every `interval_us`.
fn bounds(interval_us: u64, prio: u64) -> (u64, u64) {
    let skew = (256 - prio) * interval_us / 256;
    (skew, 3 * interval_us + skew)
}

/// One run: the gap in microseconds between the old Master's last advert and the new Master's
/// first, from the observer's capture.
/// Whose VRRP runs on the two routers.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Daemon {
    Ours,
    Keepalived,
}

fn run_once(who: Daemon, interval: &str, interval_us: u64, failure: Failure) -> Result<Outcome> {
    let lab = AgentLab::new("bf", 3);
    let obs = lab.host_dir(2);
    let pcap = obs.join("cap.pcap");
    let pcap_s = pcap.to_string_lossy().into_owned();
    let mut cap = Proc::spawn(
        lab.client(),
        &[
            "tcpdump",
            "-Z",
            "root",
            "-U",
            "--immediate-mode",
            "-n",
            "-i",
            "eth0",
            "-w",
            &pcap_s,
            "ip proto 112",
        ],
        &obs.join("tcpdump.log"),
    )?;
    std::thread::sleep(Duration::from_millis(300));
    let settle = Duration::from_micros(interval_us * 3).max(Duration::from_millis(200));
    let sig = if failure == Failure::Graceful {
        libc::SIGTERM
    } else {
        libc::SIGKILL
    };
    let takeover = Duration::from_micros(interval_us * 5) + Duration::from_secs(2);
    let client: Option<Client>;
    // The daemons live until the capture ends (dropping them kills them: a keepalived whose
    // parent is killed removes its VIPs, which would end the client's answers early).
    let mut daemons: Vec<Box<dyn std::any::Any>> = Vec::new();
    let t_fail: u64;
    match who {
        Daemon::Ours => {
            let inst = |p| Inst::v4("VI", 51, p, "192.0.2.100/24").interval(interval);
            let a = lab.start(0, "1s", "", &[inst(150)]);
            let b = lab.start(1, "1s", "", &[inst(100)]);
            a.wait_state("VI", "MASTER", Duration::from_secs(10))?;
            b.wait_state("VI", "BACKUP", Duration::from_secs(2))?;
            std::thread::sleep(settle);
            client = Some(Client::start(lab.client())?);
            t_fail = bench::now_ns();
            if failure == Failure::LinkDown {
                lab.lan.set_cable(0, false)?;
            } else {
                a.proc.signal(sig);
            }
            b.wait_state("VI", "MASTER", takeover)?;
            daemons.push(Box::new(a));
            daemons.push(Box::new(b));
        }
        Daemon::Keepalived => {
            let ka = |p| KaInstance {
                name: "VI".into(),
                interface: "eth0".into(),
                vrid: 51,
                version: 3,
                priority: p,
                advert_int: interval_us as f64 / 1e6,
                preempt: true,
                vips: vec!["192.0.2.100/24".into()],
                ipv6: false,
            };
            let (h0, h1) = (&lab.lan.hosts[0], &lab.lan.hosts[1]);
            let a = Keepalived::start(h0, &lab.host_dir(0).join("ka"), &[ka(150)])?;
            let b = Keepalived::start(h1, &lab.host_dir(1).join("ka"), &[ka(100)])?;
            let up = wait_for(Duration::from_secs(10), || {
                has_address(h0, "192.0.2.100").then_some(())
            });
            up.ok_or_else(|| anyhow!("keepalived never became Master: {}", a.proc.log_text()))?;
            std::thread::sleep(settle);
            client = Some(Client::start(lab.client())?);
            t_fail = bench::now_ns();
            if failure == Failure::LinkDown {
                lab.lan.set_cable(0, false)?;
            } else if failure == Failure::Kill {
                // keepalived runs a parent and a VRRP child; a child whose parent dies shuts down
                // gracefully (priority 0). A hard failure kills both at once.
                let pids = std::process::Command::new("ip")
                    .args(["netns", "pids", &h0.name])
                    .output()?;
                for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
                    if let Ok(pid) = pid.parse::<i32>() {
                        // SAFETY: kill(2) on a process of the test's own namespace.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
            } else {
                a.proc.signal(sig);
            }
            let took = wait_for(takeover, || has_address(h1, "192.0.2.100").then_some(()));
            took.ok_or_else(|| anyhow!("keepalived Backup did not take over"))?;
            daemons.push(Box::new(a));
            daemons.push(Box::new(b));
        }
    }
    // After a kill, run past the agent's dead-man bound (1 s here) so the last answers show
    // whether the killed node still answers for the VIP.
    let tail = if failure == Failure::Kill {
        Duration::from_millis(1500)
    } else {
        Duration::from_micros(interval_us * 2).max(Duration::from_millis(100))
    };
    bench::nap(tail);
    let replies = client.map(Client::stop);
    cap.signal(libc::SIGINT);
    cap.wait_exit(Duration::from_secs(5))?;
    let out = std::process::Command::new("tshark")
        .args([
            "-r",
            &pcap_s,
            "-T",
            "fields",
            "-E",
            "separator=,",
            "-e",
            "frame.time_epoch",
            "-e",
            "ip.src",
            "-e",
            "vrrp.prio",
        ])
        .output()
        .context("tshark")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut frames = Vec::new();
    for l in text.lines() {
        let f: Vec<&str> = l.split(',').collect();
        if f.len() == 3 {
            // Epoch seconds with nanosecond digits: to microseconds without float rounding.
            let (s, frac) = f[0].split_once('.').unwrap_or((f[0], "0"));
            let us = s.parse::<u64>()? * 1_000_000 + format!("{frac:0<6}")[..6].parse::<u64>()?;
            frames.push((us, f[1].to_string(), f[2].parse::<u8>().unwrap_or(0)));
        }
    }
    let last_old = frames
        .iter()
        .filter(|f| f.1 == "192.0.2.10")
        .map(|f| f.0)
        .max();
    let last_old = last_old.ok_or_else(|| {
        anyhow!(
            "no advert from the old Master captured: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    let first_new = frames
        .iter()
        .filter(|f| f.1 == "192.0.2.11" && f.0 > last_old)
        .map(|f| f.0)
        .min();
    let first_new = first_new.ok_or_else(|| {
        anyhow!(
            "no advert from the new Master captured: {text} tcpdump: {}",
            cap.log_text()
        )
    })?;
    if failure == Failure::Graceful && !frames.iter().any(|f| f.1 == "192.0.2.10" && f.2 == 0) {
        bail!("no priority-0 advert captured");
    }
    if let (true, Some((_, _, r))) = (std::env::var_os("BENCH_DEBUG").is_some(), &replies) {
        {
            let mut macs: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
            for a in r {
                let e = macs.entry(format!("{:02x?}", a.from)).or_default();
                if a.t_ns >= first_new * 1000 {
                    e.1 += 1;
                } else if a.t_ns + 5_000_000 >= t_fail {
                    e.0 += 1;
                }
            }
            eprintln!(
                "replies by MAC (around failure, after takeover): {macs:?}; took {} ms after first new advert",
                (bench::now_ns() - first_new * 1000) / 1_000_000
            );
            let after: Vec<i64> = r
                .iter()
                .filter(|a| a.t_ns + 5_000_000 >= t_fail)
                .map(|a| (a.t_ns as i64 - first_new as i64 * 1000) / 1_000_000)
                .collect();
            eprintln!(
                "reply times, ms after the first new advert: {after:?}; client stopped {} ms after it, failure {} ms before it",
                (replies.as_ref().map_or(0, |x| x.1) as i64 - first_new as i64 * 1000) / 1_000_000,
                (first_new as i64 * 1000 - t_fail as i64) / 1_000_000
            );
        }
    }
    let (client_gap_us, answers_per_request) = match replies {
        Some((sent, t_end, r)) => client_figures(&r, sent, t_fail, first_new * 1000, t_end),
        None => (None, None),
    };
    Ok(Outcome {
        gap_us: first_new - last_old,
        client_gap_us,
        answers_per_request,
    })
}

/// A client asking for the VIP by ARP once per ms and capturing the answers.
struct Client {
    pacer: Pacer,
    cap: Capture<bench::ArpReply>,
    t0: u64,
}

impl Client {
    fn start(ns: &vrrp_tests::topo::Netns) -> Result<Client> {
        let mac = bench::mac(ns, "eth0")?;
        let mut f = vrrp_tests::frames::eth(
            vrrp_tests::frames::BROADCAST,
            mac,
            vrrp_tests::frames::ETH_ARP,
            &vrrp_tests::frames::arp(1, mac, [192, 0, 2, 12], [0; 6], [192, 0, 2, 100]),
        );
        f.resize(60, 0);
        let cap = Capture::arp_replies(ns, "eth0")?;
        let pacer = Pacer::start(ns, "eth0", f, Duration::from_millis(1))?;
        Ok(Client {
            pacer,
            cap,
            t0: bench::now_ns(),
        })
    }

    /// Stops; returns (requests per ns of run as (sent, end time)), the answers.
    fn stop(self) -> (f64, u64, Vec<bench::ArpReply>) {
        let sent = self.pacer.stop();
        let t_end = bench::now_ns();
        let (r, _) = self.cap.stop();
        // Requests per nanosecond over the run, to count those sent after a given time.
        (sent as f64 / (t_end - self.t0).max(1) as f64, t_end, r)
    }
}

/// The longest wait between two answers for the VIP from just before the failure to the end,
/// and the answers per request over the last 300 ms of the run (`rate`: requests per ns).
fn client_figures(
    r: &[bench::ArpReply],
    rate: f64,
    t_fail: u64,
    t_new: u64,
    t_end: u64,
) -> (Option<u64>, Option<f64>) {
    let mut ts: Vec<u64> = r
        .iter()
        .filter(|a| a.spa == [192, 0, 2, 100] && a.t_ns + 5_000_000 >= t_fail)
        .map(|a| a.t_ns)
        .collect();
    ts.sort_unstable();
    let gap = ts.windows(2).map(|w| (w[1] - w[0]) / 1000).max();
    // The last 300 ms of the run (or all of it after the takeover, if shorter).
    let from = t_new.max(t_end.saturating_sub(300_000_000));
    let after = ts.iter().filter(|&&t| t >= from).count() as f64;
    let reqs = rate * t_end.saturating_sub(from) as f64;
    (gap, (reqs >= 1.0).then(|| after / reqs))
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(us: u64) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

fn main() -> std::process::ExitCode {
    bench::install_stop_handler();
    match bench() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-failover: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn bench() -> Result<()> {
    if !is_root() {
        bail!("needs root (network namespaces, XDP)");
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(if quick { 2 } else { 20 });
    let only = bench::arg("--interval");
    let intervals: Vec<(&str, u64)> = if quick {
        vec![("100ms", 100_000), ("10ms", 10_000)]
    } else {
        vec![("1s", 1_000_000), ("100ms", 100_000), ("10ms", 10_000)]
    }
    .into_iter()
    .filter(|(n, _)| only.as_deref().is_none_or(|o| o == *n))
    .collect();
    println!(
        "## Failover on the wire: last advert of the old Master -> first advert of the new one\n"
    );
    println!(
        "Machine: {}; two routers and an observer (also an ARP client, one request per ms) on a bridge in network namespaces; {runs} runs per row; Backup priority 100.\n",
        bench::machine()
    );
    println!(
        "| advert interval | failure | daemon | RFC bound ms | min ms | median ms | p95 ms | max ms | median - bound ms | client ARP gap ms, median (max) | ARP answers per request, end of run |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut cells = Vec::new();
    let ka = bench::keepalived_version();
    'all: for &(name, us) in &intervals {
        let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
        for failure in [Failure::Graceful, Failure::Kill, Failure::LinkDown] {
            if bench::stopped() {
                break 'all;
            }
            let (skew, mdi) = bounds(us, 100);
            let bound = if failure == Failure::Graceful {
                skew
            } else {
                mdi
            };
            // Alternate the two daemons run by run (A B A B) so drift in the machine's load
            // weighs on both alike.
            let mut gaps: [Vec<u64>; 2] = [Vec::new(), Vec::new()];
            let mut client: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            let mut apr: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            'runs: for _ in 0..runs {
                for (k, who) in [Daemon::Ours, Daemon::Keepalived].into_iter().enumerate() {
                    if bench::stopped() {
                        break 'runs;
                    }
                    match run_once(who, name, us, failure) {
                        Ok(o) => {
                            gaps[k].push(o.gap_us);
                            client[k].extend(o.client_gap_us.map(|g| g as f64 / 1000.0));
                            apr[k].extend(o.answers_per_request);
                        }
                        Err(e) => eprintln!("run failed: {e:#}"),
                    }
                }
            }
            let label = failure.label();
            for (k, daemon) in ["vrrp-agent", ka.as_str()].into_iter().enumerate() {
                let g = &mut gaps[k];
                g.sort_unstable();
                rows.push((
                    format!("{label}, {daemon}"),
                    g.iter().map(|&v| v as f64 / 1000.0).collect(),
                ));
                let cs = bench::Summary::of(&client[k]);
                let client_s =
                    cs.map_or_else(|| "-".into(), |c| format!("{:.1} ({:.1})", c.median, c.max));
                let apr_s = bench::Summary::of(&apr[k])
                    .map_or_else(|| "-".into(), |a| format!("{:.2}", a.median));
                cells.push(json!({"interval": name, "failure": label, "daemon": daemon,
                    "bound_us": bound, "gaps_us": g, "client_gap_ms": client[k],
                    "answers_per_request_after": apr[k]}));
                if g.is_empty() {
                    println!(
                        "| {name} | {label} | {daemon} | {} | - | - | - | - | - | {client_s} | {apr_s} |",
                        ms(bound)
                    );
                    continue;
                }
                let med = pct(g, 0.5);
                println!(
                    "| {name} | {label} | {daemon} | {} | {} | {} | {} | {} | {:+.3} | {client_s} | {apr_s} |",
                    ms(bound),
                    ms(g[0]),
                    ms(med),
                    ms(pct(g, 0.95)),
                    ms(*g.last().unwrap_or(&0)),
                    (med as f64 - bound as f64) / 1000.0
                );
            }
        }
        bench::write_svg(
            quick,
            &format!("failover-{name}.svg"),
            &bench::svg_strip(
                &format!(
                    "Failover on the wire, adverts every {name}: last advert of the old Master -> first of the new"
                ),
                "ms",
                &rows,
            ),
        );
    }
    println!(
        "\nclient ARP gap: the client's longest wait between two ARP answers for the VIP from the failure on (a request every ms). ARP answers per request, end of run: over the last 300 ms (kill -9 runs last 1.5 s after the takeover, past the agent's 1 s dead-man bound); about 1 when only the new Master answers, about 2 when the failed node keeps answering too."
    );
    bench::write_json(
        quick,
        "failover.json",
        &json!({"bench": "bench-failover", "machine": bench::machine(), "quick": quick,
            "runs": runs, "cells": cells}),
    );
    Ok(())
}
