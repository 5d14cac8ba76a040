//! Interop with keepalived 2.2.7: real keepalived peers on a bridged LAN in namespaces.

use std::time::Duration;

use vrrp_tests::keepalived::{KaInstance, Keepalived, has_address};
use vrrp_tests::topo::{Lan, is_root, unique_prefix, wait_for};

fn ka(vrid: u8, version: u8, priority: u8) -> KaInstance {
    KaInstance {
        name: format!("VI_{vrid}"),
        interface: "eth0".into(),
        vrid,
        version,
        priority,
        advert_int: 0.1,
        preempt: true,
        vips: vec!["192.0.2.100/24".into()],
        ipv6: false,
    }
}

/// The harness itself: two keepalived peers elect the higher priority (RFC 5798 §6.4.2).
#[test]
fn two_keepalived_peers_elect_the_higher_priority() {
    if !is_root() {
        eprintln!("SKIP: needs root");
        return;
    }
    let lan = Lan::new(&unique_prefix("ka"), 2).unwrap();
    let dir = std::env::temp_dir().join(&lan.prefix);
    let _a = Keepalived::start(&lan.hosts[0], &dir.join("a"), &[ka(51, 3, 150)]).unwrap();
    let _b = Keepalived::start(&lan.hosts[1], &dir.join("b"), &[ka(51, 3, 100)]).unwrap();
    let master = wait_for(Duration::from_secs(5), || {
        has_address(&lan.hosts[0], "192.0.2.100").then_some(())
    });
    assert!(master.is_some(), "priority 150 never became Master");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !has_address(&lan.hosts[1], "192.0.2.100"),
        "both hold the VIP"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

use vrrp_tests::agent::{Agent, Inst, render_config};
use vrrp_tests::topo::Netns;

/// One interop scenario: our agent on host 0, keepalived on host 1, same VRID and VIP.
fn interop(tag: &str, version: u8, vip: &str, interval: &str, ka_int: f64, ours_higher: bool) {
    if !is_root() {
        eprintln!("SKIP: needs root");
        return;
    }
    let lan = Lan::new(&unique_prefix(tag), 2).unwrap();
    let dir = std::env::temp_dir().join(&lan.prefix);
    let _ = std::fs::remove_dir_all(&dir);
    let (ours_p, ka_p) = if ours_higher { (150, 100) } else { (100, 150) };
    let ipv6 = vip.contains(':');
    let vip_addr = vip.split('/').next().unwrap().to_string();
    let ka_inst = KaInstance {
        name: "VI_1".into(),
        interface: "eth0".into(),
        vrid: 61,
        version,
        priority: ka_p,
        advert_int: ka_int,
        preempt: true,
        vips: vec![vip.into()],
        ipv6,
    };
    let d0 = dir.join("ours");
    std::fs::create_dir_all(&d0).unwrap();
    let ours_cfg = render_config(
        &d0,
        "1s",
        "",
        &[Inst::v4("VI_1", 61, ours_p, vip)
            .version(version)
            .interval(interval)],
    );
    let mut ours = Agent::start(&lan.hosts[0], &d0, &ours_cfg).unwrap();
    let mut ka = Keepalived::start(&lan.hosts[1], &dir.join("ka"), &[ka_inst]).unwrap();
    let ka_master = |ns: &Netns| has_address(ns, &vip_addr);
    let settle = Duration::from_secs_f64(ka_int * 4.0 + 3.0);
    if ours_higher {
        ours.wait_state("VI_1", "MASTER", settle).unwrap();
        let gone = wait_for(settle, || (!ka_master(&lan.hosts[1])).then_some(()));
        assert!(
            gone.is_some(),
            "keepalived keeps the VIP; its log:\n{}",
            ka.proc.log_text()
        );
    } else {
        let got = wait_for(settle, || ka_master(&lan.hosts[1]).then_some(()));
        assert!(
            got.is_some(),
            "keepalived never became Master; its log:\n{}",
            ka.proc.log_text()
        );
        ours.wait_state("VI_1", "BACKUP", settle).unwrap();
    }
    // Stable: never two Masters over several advert intervals.
    for _ in 0..20 {
        let both = ours.state("VI_1") == "MASTER" && ka_master(&lan.hosts[1]);
        assert!(!both, "dual Master; our log:\n{}", ours.proc.log_text());
        std::thread::sleep(Duration::from_secs_f64(ka_int / 4.0));
    }
    // Failover to the other side: stop whichever is Master gracefully (priority 0).
    if ours_higher {
        ours.proc.signal(libc::SIGTERM);
        ours.proc.wait_exit(Duration::from_secs(5)).unwrap();
        let got = wait_for(settle, || ka_master(&lan.hosts[1]).then_some(()));
        assert!(
            got.is_some(),
            "keepalived did not take over; its log:\n{}",
            ka.proc.log_text()
        );
    } else {
        ka.proc.signal(libc::SIGTERM);
        ka.proc.wait_exit(Duration::from_secs(5)).unwrap();
        ours.wait_state("VI_1", "MASTER", settle).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// RFC 3768 (v2) interop: 1 s adverts (keepalived rounds v2 intervals to whole seconds).
#[test]
fn v2_ours_master_then_keepalived_takes_over() {
    interop("i2a", 2, "192.0.2.100/24", "1s", 1.0, true);
}

#[test]
fn v2_keepalived_master_then_ours_takes_over() {
    interop("i2b", 2, "192.0.2.100/24", "1s", 1.0, false);
}

// RFC 5798 over IPv4 at 100 ms.
#[test]
fn v3_ipv4_ours_master_then_keepalived_takes_over() {
    interop("i3a", 3, "192.0.2.100/24", "100ms", 0.1, true);
}

#[test]
fn v3_ipv4_keepalived_master_then_ours_takes_over() {
    interop("i3b", 3, "192.0.2.100/24", "100ms", 0.1, false);
}

// RFC 5798 over IPv6 at 100 ms (link-local sources, ff02::12).
#[test]
fn v3_ipv6_ours_master_then_keepalived_takes_over() {
    interop("i6a", 3, "2001:db8::100/64", "100ms", 0.1, true);
}

#[test]
fn v3_ipv6_keepalived_master_then_ours_takes_over() {
    interop("i6b", 3, "2001:db8::100/64", "100ms", 0.1, false);
}
