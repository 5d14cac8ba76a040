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
    let master = wait_for(Duration::from_secs(5), || has_address(&lan.hosts[0], "192.0.2.100").then_some(()));
    assert!(master.is_some(), "priority 150 never became Master");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!has_address(&lan.hosts[1], "192.0.2.100"), "both hold the VIP");
    let _ = std::fs::remove_dir_all(&dir);
}
