//! vrrp-agent end to end: two or three agents and a client on a bridged LAN in namespaces.
//! Elections, the VIP answered only by the Master with the virtual MAC (ARP and ND), failover
//! timing against the RFC 5798 bounds, the dead-man switch, preemption, tracking, notify, reload.
//! Timing assertions use the RFC bound plus a stated tolerance; precise figures belong to the
//! benchmarks.

use std::time::{Duration, Instant};

use vrrp_tests::agent::{Agent, AgentLab, Inst};
use vrrp_tests::topo::{Netns, is_root, wait_for};

/// Scheduling noise allowed on top of an RFC bound (2 cores shared by 3 agents and the test).
const TOLERANCE: Duration = Duration::from_millis(150);

/// MACs the client saw answering ARP for `ip` (upper-case, from `arping`).
fn arping(ns: &Netns, ip: &str, count: u32) -> Vec<String> {
    let out = ns
        .cmd(&[
            "arping",
            "-c",
            &count.to_string(),
            "-w",
            "2",
            "-I",
            "eth0",
            ip,
        ])
        .output()
        .expect("arping");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .filter(|l| l.contains("reply from"))
        .filter_map(|l| l.split('[').nth(1).and_then(|r| r.split(']').next()))
        .map(|m| m.to_uppercase())
        .collect()
}

fn skip_unless_root() -> bool {
    if !is_root() {
        eprintln!("SKIP: needs root (namespaces, XDP)");
        return true;
    }
    false
}

fn dp_counter(a: &Agent, name: &str) -> u64 {
    a.status()
        .map(|s| {
            s.interfaces
                .iter()
                .map(|i| i.counters.get(name).copied().unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

// RFC 5798 §6.4.2/§6.4.3: the highest priority becomes Master; only the Master answers ARP for
// the VIP, with the virtual MAC 00-00-5E-00-01-{VRID} (§7.3); a Backup must not (§6.4.2).
#[test]
fn higher_priority_becomes_master_and_only_it_answers_arp_with_the_virtual_mac() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("el", 3);
    let a = lab.start(0, "1s", "", &[Inst::v4("VI_51", 51, 150, "192.0.2.100/24")]);
    let b = lab.start(1, "1s", "", &[Inst::v4("VI_51", 51, 100, "192.0.2.100/24")]);
    a.wait_state("VI_51", "MASTER", Duration::from_secs(3))
        .unwrap();
    b.wait_state("VI_51", "BACKUP", Duration::from_secs(3))
        .unwrap();
    let macs = arping(lab.client(), "192.0.2.100", 3);
    assert!(!macs.is_empty(), "no ARP answer for the VIP");
    assert!(
        macs.iter().all(|m| m == "00:00:5E:00:01:33"),
        "answers: {macs:?}"
    );
    assert!(
        dp_counter(&a, "arp_replied") >= 3,
        "Master's XDP did not answer"
    );
    assert_eq!(dp_counter(&b, "arp_replied"), 0, "a Backup answered ARP");
    assert!(
        dp_counter(&b, "arp_dropped_backup") >= 1,
        "Backup's XDP did not see the broadcast request: {:?}",
        b.status().map(|s| s.interfaces)
    );
    // The Master learned nothing contradicting; the Backup knows who the Master is.
    assert_eq!(
        b.instance("VI_51").unwrap().master_address.as_deref(),
        Some("192.0.2.10")
    );
}

// RFC 5798 §6.4.3 (Master, Shutdown): a priority-0 advert; §6.4.2: the Backup then waits only
// Skew_Time = (256 - 100) * 100 ms / 256 = 60.9 ms.
#[test]
fn sigterm_on_the_master_hands_over_within_skew_time() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("st", 3);
    let mut a = lab.start(0, "1s", "", &[Inst::v4("VI_7", 7, 150, "192.0.2.100/24")]);
    let b = lab.start(1, "1s", "", &[Inst::v4("VI_7", 7, 100, "192.0.2.100/24")]);
    a.wait_state("VI_7", "MASTER", Duration::from_secs(3))
        .unwrap();
    b.wait_state("VI_7", "BACKUP", Duration::from_secs(3))
        .unwrap();
    let skew = Duration::from_micros(60_937);
    let t0 = Instant::now();
    a.proc.signal(libc::SIGTERM);
    b.wait_state(
        "VI_7",
        "MASTER",
        skew + TOLERANCE + Duration::from_millis(300),
    )
    .unwrap();
    let took = t0.elapsed();
    assert_eq!(
        a.proc.wait_exit(Duration::from_secs(5)).unwrap(),
        Some(0),
        "agent exit code"
    );
    eprintln!("graceful takeover after {took:?} (Skew_Time {skew:?})");
    assert!(took <= skew + TOLERANCE, "took {took:?}");
    let log = a.proc.log_text();
    assert!(log.contains("XDP detached"), "teardown not logged:\n{log}");
    // The stopped node removed its VIP.
    assert!(
        !lab.lan.hosts[0]
            .exec(&["ip", "-o", "addr"])
            .unwrap()
            .contains("192.0.2.100")
    );
}

// RFC 5798 §6.4.2: with the Master silent, the Backup takes over Master_Down_Interval =
// 3 × 100 ms + Skew_Time after the last advert. The killed node's data plane must go silent
// within the dead-man bound even though its VIP is still configured (kill -9 cleans nothing).
#[test]
fn kill_9_of_the_master_fails_over_and_its_data_plane_goes_silent() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("k9", 3);
    let a = lab.start(
        0,
        "500ms",
        "",
        &[Inst::v4("VI_9", 9, 150, "192.0.2.100/24")],
    );
    let mut b = lab.start(
        1,
        "500ms",
        "",
        &[Inst::v4("VI_9", 9, 100, "192.0.2.100/24")],
    );
    a.wait_state("VI_9", "MASTER", Duration::from_secs(3))
        .unwrap();
    b.wait_state("VI_9", "BACKUP", Duration::from_secs(3))
        .unwrap();
    let mdi = Duration::from_micros(360_937);
    let t0 = Instant::now();
    a.proc.signal(libc::SIGKILL);
    b.wait_state(
        "VI_9",
        "MASTER",
        mdi + TOLERANCE + Duration::from_millis(500),
    )
    .unwrap();
    let took = t0.elapsed();
    eprintln!("hard takeover after {took:?} (Master_Down_Interval {mdi:?})");
    assert!(took <= mdi + TOLERANCE, "took {took:?}");
    // The killed node still holds its VIP (like keepalived after kill -9)...
    assert!(
        lab.lan.hosts[0]
            .exec(&["ip", "-o", "addr"])
            .unwrap()
            .contains("192.0.2.100")
    );
    // ...but after the dead-man bound nothing there answers for it: stop the new Master cleanly
    // and nobody may answer at all.
    b.proc.signal(libc::SIGTERM);
    b.proc.wait_exit(Duration::from_secs(5)).unwrap();
    std::thread::sleep(Duration::from_millis(600));
    let macs = arping(lab.client(), "192.0.2.100", 2);
    assert!(
        macs.is_empty(),
        "dead node still answers ARP for the VIP: {macs:?}"
    );
}

// RFC 5798 §6.4.2 with Preempt_Mode false: a higher-priority Backup does not take over from a
// working lower-priority Master; with preemption on it does (after the Master_Down_Timer).
#[test]
fn nopreempt_keeps_the_master_and_preempt_takes_over() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("pr", 3);
    let low = lab.start(0, "1s", "", &[Inst::v4("VI_3", 3, 100, "192.0.2.100/24")]);
    low.wait_state("VI_3", "MASTER", Duration::from_secs(3))
        .unwrap();
    let high = lab.start(
        1,
        "1s",
        "",
        &[Inst::v4("VI_3", 3, 200, "192.0.2.100/24").with("preempt: false")],
    );
    high.wait_state("VI_3", "BACKUP", Duration::from_secs(3))
        .unwrap();
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(low.state("VI_3"), "MASTER");
    assert_eq!(high.state("VI_3"), "BACKUP");
    drop(high);
    let high = lab.start(2, "1s", "", &[Inst::v4("VI_3", 3, 200, "192.0.2.100/24")]);
    high.wait_state("VI_3", "MASTER", Duration::from_secs(3))
        .unwrap();
    low.wait_state("VI_3", "BACKUP", Duration::from_secs(1))
        .unwrap();
}

// keepalived preempt_delay: the higher-priority router waits this long after starting before
// it preempts.
#[test]
fn preempt_delay_postpones_the_takeover() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("pd", 3);
    let low = lab.start(0, "1s", "", &[Inst::v4("VI_4", 4, 100, "192.0.2.100/24")]);
    low.wait_state("VI_4", "MASTER", Duration::from_secs(3))
        .unwrap();
    let t0 = Instant::now();
    let high = lab.start(
        1,
        "1s",
        "",
        &[Inst::v4("VI_4", 4, 200, "192.0.2.100/24").with("preempt_delay: 2s")],
    );
    high.wait_state("VI_4", "MASTER", Duration::from_secs(5))
        .unwrap();
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "preempted after {took:?}, before the 2 s delay"
    );
    low.wait_state("VI_4", "BACKUP", Duration::from_secs(1))
        .unwrap();
}

// RFC 5798 §6.4.1: the address owner (priority 255) goes to Master at once, and preempts.
#[test]
fn the_address_owner_becomes_master_immediately() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("ow", 3);
    let other = lab.start(
        1,
        "1s",
        "",
        &[Inst::v4("VI_5", 5, 200, "192.0.2.100/24").interval("1s")],
    );
    other
        .wait_state("VI_5", "MASTER", Duration::from_secs(5))
        .unwrap();
    let t0 = Instant::now();
    let owner = lab.start(
        0,
        "1s",
        "",
        &[Inst::v4("VI_5", 5, 255, "192.0.2.100/24")
            .interval("1s")
            .with("address_owner: true")],
    );
    owner
        .wait_state("VI_5", "MASTER", Duration::from_millis(500))
        .unwrap();
    assert!(
        t0.elapsed() < Duration::from_millis(900),
        "owner waited {:?}",
        t0.elapsed()
    );
    other
        .wait_state("VI_5", "BACKUP", Duration::from_secs(2))
        .unwrap();
    assert_eq!(owner.instance("VI_5").unwrap().effective_priority, 255);
}

// IPv6 (RFC 5798 §6.4.3): the Master answers Neighbor Solicitations for the VIP with the
// virtual MAC 00-00-5E-00-02-{VRID}.
#[test]
fn ipv6_master_answers_neighbor_solicitation_with_the_virtual_mac() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("v6", 3);
    let a = lab.start(0, "1s", "", &[Inst::v4("VI6", 52, 150, "2001:db8::100/64")]);
    let b = lab.start(1, "1s", "", &[Inst::v4("VI6", 52, 100, "2001:db8::100/64")]);
    a.wait_state("VI6", "MASTER", Duration::from_secs(3))
        .unwrap();
    b.wait_state("VI6", "BACKUP", Duration::from_secs(3))
        .unwrap();
    let out = lab
        .client()
        .cmd(&[
            "ndisc6",
            "-1",
            "-r",
            "2",
            "-w",
            "1000",
            "2001:db8::100",
            "eth0",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_uppercase();
    assert!(text.contains("00:00:5E:00:02:34"), "ndisc6 said:\n{text}");
    assert!(dp_counter(&a, "nd_replied") >= 1);
    assert_eq!(dp_counter(&b, "nd_replied"), 0);
}

// Accept mode (RFC 5798 §6.1): a Master with accept_mode takes packets to the VIP (ping
// works); without it, it still answers ARP for the VIP but does not accept packets addressed to
// it (no ping reply).
#[test]
fn ping_of_the_vip_works_with_accept_mode_and_not_without() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("ac", 2);
    let a = lab.start(
        0,
        "1s",
        "",
        &[
            Inst::v4("VI_8", 8, 150, "192.0.2.100/24").with("accept_mode: true"),
            Inst::v4("VI_9", 9, 150, "192.0.2.101/24").with("accept_mode: false"),
        ],
    );
    a.wait_state("VI_8", "MASTER", Duration::from_secs(3))
        .unwrap();
    a.wait_state("VI_9", "MASTER", Duration::from_secs(3))
        .unwrap();
    let ping = |ip: &str| {
        lab.client()
            .cmd(&["ping", "-c", "1", "-W", "1", ip])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let ok = wait_for(Duration::from_secs(3), || ping("192.0.2.100").then_some(()));
    assert!(ok.is_some(), "no ping reply from the accept-mode VIP");
    assert_eq!(
        arping(lab.client(), "192.0.2.101", 1),
        ["00:00:5E:00:01:09"]
    );
    assert!(
        !ping("192.0.2.101"),
        "a Master without accept mode answered a ping to its VIP"
    );
}

#[test]
fn link_down_moves_the_master_to_fault_and_link_up_recovers() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("ld", 3);
    let a = lab.start(0, "1s", "", &[Inst::v4("VI_6", 6, 150, "192.0.2.100/24")]);
    let b = lab.start(1, "1s", "", &[Inst::v4("VI_6", 6, 100, "192.0.2.100/24")]);
    a.wait_state("VI_6", "MASTER", Duration::from_secs(3))
        .unwrap();
    b.wait_state("VI_6", "BACKUP", Duration::from_secs(3))
        .unwrap();
    lab.lan.hosts[0]
        .exec(&["ip", "link", "set", "eth0", "down"])
        .unwrap();
    a.wait_state("VI_6", "FAULT", Duration::from_secs(2))
        .unwrap();
    b.wait_state("VI_6", "MASTER", Duration::from_secs(2))
        .unwrap();
    lab.lan.hosts[0]
        .exec(&["ip", "link", "set", "eth0", "up"])
        .unwrap();
    a.wait_state("VI_6", "MASTER", Duration::from_secs(5))
        .unwrap();
    b.wait_state("VI_6", "BACKUP", Duration::from_secs(2))
        .unwrap();
}

// keepalived unicast_peer: adverts go to the configured peers only (raw IP socket, TTL 255) and
// are accepted only from them; election and failover work as with multicast.
#[test]
fn unicast_peers_elect_and_fail_over() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("uc", 3);
    let a = lab.start(
        0,
        "1s",
        "",
        &[Inst::v4("VI_U", 21, 150, "192.0.2.100/24").with("unicast_peers: [192.0.2.11]")],
    );
    let mut b = lab.start(
        1,
        "1s",
        "",
        &[Inst::v4("VI_U", 21, 100, "192.0.2.100/24").with("unicast_peers: [192.0.2.10]")],
    );
    a.wait_state("VI_U", "MASTER", Duration::from_secs(3))
        .unwrap();
    b.wait_state("VI_U", "BACKUP", Duration::from_secs(3))
        .unwrap();
    // b is Backup from startup; it learns the Master from a's first advert after a took over.
    let master = wait_for(Duration::from_secs(1), || {
        b.instance("VI_U").ok()?.master_address
    });
    assert_eq!(master.as_deref(), Some("192.0.2.10"));
    // The adverts a sends are addressed to b, none to the VRRP group. Captured at the sender:
    // b's XDP program absorbs routine adverts before any packet tap (advert absorption).
    let out = lab.lan.hosts[0]
        .cmd(&[
            "tshark",
            "-i",
            "eth0",
            "-Q",
            "-a",
            "duration:1",
            "-f",
            "ip proto 112",
            "-T",
            "fields",
            "-e",
            "ip.dst",
        ])
        .output()
        .unwrap();
    let dsts: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(dsts.len() >= 5, "adverts seen by the peer: {dsts:?}");
    assert!(
        dsts.iter().all(|d| d == "192.0.2.11"),
        "adverts not unicast to the peer: {dsts:?}"
    );
    drop(a);
    b.wait_state("VI_U", "MASTER", Duration::from_secs(2))
        .unwrap();
    b.proc.signal(libc::SIGTERM);
    b.proc.wait_exit(Duration::from_secs(5)).unwrap();
}

// Fast adverts (RFC 5798 §5.2.7: 10 ms is the smallest v3 interval), IPv4 and IPv6 side by side:
// Master_Down_Interval = 3 × 10 ms + (256 − 100) × 10 ms / 256 = 36.09 ms.
#[test]
fn ten_millisecond_adverts_fail_over_within_master_down_interval_v4_and_v6() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("fa", 3);
    let insts = |p| {
        [
            Inst::v4("F4", 31, p, "192.0.2.100/24").interval("10ms"),
            Inst::v4("F6", 32, p, "2001:db8::100/64").interval("10ms"),
        ]
    };
    let a = lab.start(0, "200ms", "", &insts(150));
    let b = lab.start(1, "200ms", "", &insts(100));
    for n in ["F4", "F6"] {
        a.wait_state(n, "MASTER", Duration::from_secs(2)).unwrap();
        b.wait_state(n, "BACKUP", Duration::from_secs(2)).unwrap();
    }
    // Stable for 100 intervals: no spurious transition on the Backup.
    let before = b.status().unwrap();
    std::thread::sleep(Duration::from_secs(1));
    let after = b.status().unwrap();
    for (x, y) in before.instances.iter().zip(&after.instances) {
        assert_eq!(x.last_transition, y.last_transition, "{} flapped", x.name);
    }
    let mdi = Duration::from_micros(36_093);
    let t0 = Instant::now();
    a.proc.signal(libc::SIGKILL);
    for n in ["F4", "F6"] {
        b.wait_state(n, "MASTER", Duration::from_secs(1)).unwrap();
    }
    let took = t0.elapsed();
    eprintln!("both families taken over {took:?} after kill -9 (Master_Down_Interval {mdi:?})");
    assert!(took <= mdi + TOLERANCE, "took {took:?}");
}
