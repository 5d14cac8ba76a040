//! One measured window of N VRRP instances spread over K interfaces (one bridge each), for
//! bench-scale and bench-flood: a Master (priority 150) and a Backup (priority 100) running
//! vrrp-agent or keepalived with the equivalent config, an observer capturing every advert, optionally an ARP flood aimed at the
//! Master's VIPs. Figures: CPU seconds per second and peak RSS (VmHWM) of each daemon's process
//! tree, adverts per second on the wire against nominal, per-VRID advert gaps, and transitions
//! during the window (after settling: every one is spurious).

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use crate::agent::{Agent, Inst, render_config};
use crate::bench::{self, Flood, Observer};
use crate::keepalived::{KaInstance, Keepalived};
use crate::topo::{Lan, Netns, Proc, unique_prefix, wait_for};

/// Whose VRRP runs on the two routers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Daemon {
    Ours,
    Keepalived,
}

impl Daemon {
    pub fn label(self) -> String {
        match self {
            Daemon::Ours => "vrrp-agent".into(),
            Daemon::Keepalived => bench::keepalived_version(),
        }
    }
}

/// What to run.
#[derive(Clone, Copy, Debug)]
pub struct Cfg {
    pub instances: usize,
    /// Interfaces the instances are spread over (1..=4), each its own LAN segment.
    pub interfaces: usize,
    pub interval_us: u64,
    pub window: Duration,
    /// Generator threads for an ARP flood at the Master's VIPs (0: no flood).
    pub flood_threads: usize,
}

/// Figures of one daemon over the window.
#[derive(Clone, Copy, Debug, Default)]
pub struct Node {
    pub cpu_per_s: f64,
    pub hwm_kib: u64,
    pub transitions: u64,
}

/// Figures of one window.
#[derive(Clone, Copy, Debug, Default)]
pub struct Fig {
    pub master: Node,
    pub backup: Node,
    pub adverts_per_s: f64,
    pub nominal_per_s: f64,
    pub backup_adverts: u64,
    pub gap_p99_ms: f64,
    pub gap_max_ms: f64,
    pub jitter_p99_ms: f64,
    pub observer_drops: u64,
    pub flood_sent_per_s: f64,
    pub flood_answers_per_s: f64,
    /// Whether the roles settled before the window (Master all MASTER, Backup all BACKUP).
    pub settled: bool,
}

/// The instances of each interface: `(interface index, VRID)`, interface by interface, VRIDs
/// from 1 (a VRID is unique per interface, RFC 5798 §7.3, so 255 at most on each). The first
/// `n % k` interfaces take one more.
pub fn layout(n: usize, k: usize) -> Vec<(usize, usize)> {
    let k = k.max(1);
    (0..k)
        .flat_map(|i| {
            let here = n / k + usize::from(i < n % k);
            (1..=here).map(move |v| (i, v))
        })
        .collect()
}

/// The VIP of VRID `v` (1..=255), one /32 each: 198.51.100.1-254, then 203.0.113.1. The
/// same VIP serves VRID `v` on every interface: each interface is its own segment.
pub fn vip(v: usize) -> [u8; 4] {
    if v <= 254 {
        [198, 51, 100, v as u8]
    } else {
        [203, 0, 113, (v - 254) as u8]
    }
}

fn vip_s(v: usize) -> String {
    let a = vip(v);
    format!("{}.{}.{}.{}/32", a[0], a[1], a[2], a[3])
}

/// keepalived's interval in seconds, or the agent's duration string.
fn interval_str(us: u64) -> String {
    if us.is_multiple_of(1_000_000) {
        format!("{}s", us / 1_000_000)
    } else {
        format!("{}ms", us / 1000)
    }
}

/// A daemon on one node.
enum Running {
    Ours(Agent),
    Ka(Keepalived),
}

impl Running {
    fn proc(&self) -> &Proc {
        match self {
            Running::Ours(a) => &a.proc,
            Running::Ka(k) => &k.proc,
        }
    }

    /// A transition tally: ours, (Σ became_master, per-instance last transition (time, to));
    /// keepalived, the number of "Entering ... STATE" log lines.
    fn tally(&self) -> (u64, Vec<(u64, String)>) {
        match self {
            Running::Ours(a) => a.status().map_or((0, Vec::new()), |s| {
                let bm = s
                    .instances
                    .iter()
                    .map(|i| i.counters.get("became_master").copied().unwrap_or(0))
                    .sum();
                let lt = s
                    .instances
                    .iter()
                    .map(|i| {
                        i.last_transition
                            .as_ref()
                            .map_or((0, String::new()), |t| (t.at_ms, t.to.clone()))
                    })
                    .collect();
                (bm, lt)
            }),
            Running::Ka(k) => {
                let log = k.proc.log_text();
                let n = log
                    .lines()
                    .filter(|l| {
                        l.contains("Entering MASTER STATE") || l.contains("Entering BACKUP STATE")
                    })
                    .count();
                (n as u64, Vec::new())
            }
        }
    }
}

/// Transitions between two tallies.
fn transitions(a: &(u64, Vec<(u64, String)>), b: &(u64, Vec<(u64, String)>)) -> u64 {
    let changed_to_backup =
        a.1.iter()
            .zip(&b.1)
            .filter(|(x, y)| x.0 != y.0 && y.1 != "MASTER")
            .count() as u64;
    b.0.saturating_sub(a.0) + changed_to_backup
}

/// `VI<vrid>` on the first interface (as before interfaces were added), `VI<k>_<vrid>` on
/// the others.
fn inst_name(k: usize, v: usize) -> String {
    if k == 0 {
        format!("VI{v}")
    } else {
        format!("VI{k}_{v}")
    }
}

fn start(who: Daemon, ns: &Netns, dir: &Path, cfg: &Cfg, prio: u8) -> Result<Running> {
    let n = cfg.instances;
    match who {
        Daemon::Ours => {
            let insts: Vec<Inst> = layout(n, cfg.interfaces)
                .into_iter()
                .map(|(k, v)| {
                    let mut i = Inst::v4(&inst_name(k, v), v as u8, prio, &vip_s(v))
                        .interval(&interval_str(cfg.interval_us));
                    i.interface = format!("eth{k}");
                    i
                })
                .collect();
            let yaml = render_config(dir, "1s", "", &insts);
            Ok(Running::Ours(Agent::start(ns, dir, &yaml)?))
        }
        Daemon::Keepalived => {
            let insts: Vec<KaInstance> = layout(n, cfg.interfaces)
                .into_iter()
                .map(|(k, v)| KaInstance {
                    name: inst_name(k, v),
                    interface: format!("eth{k}"),
                    vrid: v as u8,
                    version: 3,
                    priority: prio,
                    advert_int: cfg.interval_us as f64 / 1e6,
                    preempt: true,
                    vips: vec![vip_s(v)],
                    ipv6: false,
                })
                .collect();
            Ok(Running::Ka(Keepalived::start(ns, &dir.join("ka"), &insts)?))
        }
    }
}

/// How many instances are in `state` (ours) or how many VIPs are held (keepalived).
fn settled(r: &Running, ns: &Netns, master: bool, n: usize) -> bool {
    match r {
        Running::Ours(a) => a.status().is_ok_and(|s| {
            s.instances.len() == n
                && s.instances
                    .iter()
                    .all(|i| i.state == if master { "MASTER" } else { "BACKUP" })
        }),
        Running::Ka(_) => {
            // VIPs are the /32s (interface addresses are /24 and /28), on every interface.
            let held = ns
                .exec(&["ip", "-o", "-4", "addr", "show"])
                .map(|s| {
                    s.lines()
                        .filter(|l| {
                            (l.contains(" 198.51.100.") || l.contains(" 203.0.113."))
                                && l.contains("/32 ")
                        })
                        .count()
                })
                .unwrap_or(usize::MAX);
            held == if master { n } else { 0 }
        }
    }
}

/// One window. `tag` names the namespaces.
pub fn run(who: Daemon, cfg: &Cfg, tag: &str) -> Result<Fig> {
    let t_start = std::time::Instant::now();
    let hosts = if cfg.flood_threads > 0 { 4 } else { 3 };
    let lan = Lan::new(&unique_prefix(tag), hosts)?;
    let ifaces = cfg.interfaces.clamp(1, 4);
    for k in 1..ifaces {
        // Master, Backup and observer on every segment (the flood stays on the first).
        lan.add_segment(k, 3)?;
    }
    let dir = std::path::PathBuf::from("/run").join(format!("vrrp-bench-{}", lan.prefix));
    let _guard = DirGuard(dir.clone());
    let n = cfg.instances;
    let up = Duration::from_micros(cfg.interval_us * 4) + Duration::from_secs(15);
    // The Master first, then the Backup once the Master holds every VRID (as an operator
    // would bring a pair up), so the start is not a 255-way election storm.
    let m = start(who, &lan.hosts[0], &dir.join("m"), cfg, 150)?;
    wait_for(up, || {
        (bench::stopped() || settled(&m, &lan.hosts[0], true, n)).then_some(())
    });
    let b = start(who, &lan.hosts[1], &dir.join("b"), cfg, 100)?;
    let ok = wait_for(up, || {
        (bench::stopped()
            || (settled(&m, &lan.hosts[0], true, n) && settled(&b, &lan.hosts[1], false, n)))
        .then_some(())
    });
    // A daemon that cannot hold the roles at this scale is measured anyway: its transitions
    // during the window are the finding.
    let settled_ok = ok.is_some();
    if !settled_ok {
        eprintln!(
            "{} did not settle (Master all MASTER, Backup all BACKUP) within {up:?}; measuring anyway. Master log tail:\n{}",
            who.label(),
            tail(&m.proc().log_text())
        );
    }
    eprintln!(
        "{} × {} µs, {}: started, {:.1} s",
        n,
        cfg.interval_us,
        who.label(),
        t_start.elapsed().as_secs_f64()
    );
    bench::nap(Duration::from_micros(cfg.interval_us * 3).max(Duration::from_secs(1)));
    let obs: Vec<Observer> = (0..ifaces)
        .map(|k| Observer::vrrp(&lan.hosts[2], &format!("eth{k}")))
        .collect::<Result<_>>()?;
    let mut flood = None;
    let mut gen_rx0 = 0;
    if cfg.flood_threads > 0 {
        let g = &lan.hosts[3];
        g.exec(&["ip", "link", "set", "eth0", "arp", "off"])?;
        let mmac = bench::mac(&lan.hosts[0], "eth0")?;
        let mmac_s = format!(
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            mmac[0], mmac[1], mmac[2], mmac[3], mmac[4], mmac[5]
        );
        // Unicast to the Master's own MAC: the bridge sends the flood to it alone.
        lan.switch.exec(&[
            "bridge",
            "fdb",
            "replace",
            &mmac_s,
            "dev",
            &lan.port(0),
            "master",
            "static",
        ])?;
        let targets: Vec<[u8; 4]> = (1..=n).map(vip).collect();
        let frames = bench::arp_requests(mmac, 16, [192, 0, 2, 50], &targets);
        flood = Some(Flood::start(g, "eth0", frames, cfg.flood_threads)?);
        bench::nap(Duration::from_millis(300));
    }
    let t_from = bench::now_ns();
    let (mc0, bc0) = (
        bench::tree_cpu_seconds(m.proc().pid()),
        bench::tree_cpu_seconds(b.proc().pid()),
    );
    let (mt0, bt0) = (m.tally(), b.tally());
    let fs0 = flood.as_ref().map_or(0, Flood::sent);
    if flood.is_some() {
        gen_rx0 = bench::if_counter(&lan.hosts[3], "eth0", "rx_packets")?;
    }
    let t0 = std::time::Instant::now();
    if !bench::nap(cfg.window) {
        anyhow::bail!("interrupted");
    }
    let dt = t0.elapsed().as_secs_f64();
    let (mc1, bc1) = (
        bench::tree_cpu_seconds(m.proc().pid()),
        bench::tree_cpu_seconds(b.proc().pid()),
    );
    let t_to = bench::now_ns();
    let fs1 = flood.as_ref().map_or(0, Flood::sent);
    let gen_rx1 = if flood.is_some() {
        bench::if_counter(&lan.hosts[3], "eth0", "rx_packets")?
    } else {
        0
    };
    let (mt1, bt1) = (m.tally(), b.tally());
    eprintln!(
        "  tallies read {:.1} s after start",
        t_start.elapsed().as_secs_f64()
    );
    if let Some(f) = flood {
        f.stop();
    }
    let (mut seen, mut drops) = (Vec::new(), 0);
    for o in obs {
        let (s, d) = o.stop();
        seen.extend(s);
        drops += d;
    }
    eprintln!(
        "  window done {:.1} s after start",
        t_start.elapsed().as_secs_f64()
    );
    // Each node's advert source on each segment (its primary address there).
    let src = |k: usize, i: usize| -> [u8; 4] {
        let a: std::net::Ipv4Addr = Lan::segment_v4(k, i).parse().unwrap_or([0; 4].into());
        a.octets()
    };
    let msrcs: Vec<[u8; 4]> = (0..ifaces).map(|k| src(k, 0)).collect();
    let bsrcs: Vec<[u8; 4]> = (0..ifaces).map(|k| src(k, 1)).collect();
    let in_window = |s: &&bench::Seen| s.t_ns >= t_from && s.t_ns < t_to;
    let adverts = seen
        .iter()
        .filter(in_window)
        .filter(|s| msrcs.contains(&s.src))
        .count();
    let backup_adverts = seen
        .iter()
        .filter(in_window)
        .filter(|s| bsrcs.contains(&s.src))
        .count() as u64;
    let mut gaps: Vec<f64> = msrcs
        .iter()
        .flat_map(|&m| bench::advert_gaps_us(&seen, m, t_from, t_to))
        .collect();
    gaps.sort_by(f64::total_cmp);
    let iv = cfg.interval_us as f64;
    let mut jit: Vec<f64> = gaps.iter().map(|g| (g - iv).abs()).collect();
    jit.sort_by(f64::total_cmp);
    let wdt = (t_to - t_from) as f64 / 1e9;
    let adverts_rate = adverts as f64 / wdt;
    Ok(Fig {
        master: Node {
            cpu_per_s: (mc1 - mc0) / dt,
            hwm_kib: bench::tree_hwm_kib(m.proc().pid()),
            transitions: transitions(&mt0, &mt1),
        },
        backup: Node {
            cpu_per_s: (bc1 - bc0) / dt,
            hwm_kib: bench::tree_hwm_kib(b.proc().pid()),
            transitions: transitions(&bt0, &bt1),
        },
        adverts_per_s: adverts_rate,
        nominal_per_s: n as f64 * 1e6 / iv,
        backup_adverts,
        gap_p99_ms: bench::pct(&gaps, 0.99) / 1000.0,
        gap_max_ms: gaps.last().copied().unwrap_or(f64::NAN) / 1000.0,
        jitter_p99_ms: bench::pct(&jit, 0.99) / 1000.0,
        observer_drops: drops,
        flood_sent_per_s: (fs1 - fs0) as f64 / dt,
        // The generator also receives every advert (multicast): take those out.
        settled: settled_ok,
        flood_answers_per_s: if gen_rx1 > 0 {
            ((gen_rx1 - gen_rx0) as f64 / dt - adverts_rate).max(0.0)
        } else {
            0.0
        },
    })
}

fn tail(s: &str) -> String {
    let l: Vec<&str> = s.lines().collect();
    l[l.len().saturating_sub(15)..].join("\n")
}

/// Removes a per-run directory on drop.
struct DirGuard(std::path::PathBuf);

impl Drop for DirGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::layout;

    #[test]
    fn layout_spreads_instances_with_vrids_unique_per_interface() {
        let l = layout(1000, 4);
        assert_eq!(l.len(), 1000);
        for k in 0..4 {
            let v: Vec<usize> = l.iter().filter(|x| x.0 == k).map(|x| x.1).collect();
            assert_eq!(v, (1..=250).collect::<Vec<_>>());
        }
        let l = layout(10, 4);
        let per: Vec<usize> = (0..4)
            .map(|k| l.iter().filter(|x| x.0 == k).count())
            .collect();
        assert_eq!(per, [3, 3, 2, 2]);
        assert_eq!(layout(255, 1).last(), Some(&(0, 255)));
    }
}
