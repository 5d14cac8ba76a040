//! What vrrp-agent puts on the wire, checked by an independent decoder (tshark's VRRP
//! dissector), and what it does with hostile input (malformed adverts from scapy).

use std::time::Duration;

use vrrp_tests::agent::{Agent, Inst, render_config};
use vrrp_tests::topo::{Lan, Netns, is_root, unique_prefix};

fn skip_unless_root() -> bool {
    if !is_root() {
        eprintln!("SKIP: needs root (namespaces, XDP)");
        return true;
    }
    false
}

/// Captures VRRP on `ns`'s eth0 for `secs` and returns tshark's fields, one Vec per packet.
fn capture(ns: &Netns, secs: u32, fields: &[&str]) -> Vec<Vec<String>> {
    let mut argv = vec![
        "tshark",
        "-i",
        "eth0",
        "-Q",
        "-a",
        "",
        "-f",
        "ip proto 112 or ip6 proto 112",
        "-o",
        "vrrp.v3_checksum_as_in_v2:FALSE",
        "-T",
        "fields",
        "-E",
        "separator=|",
    ];
    let dur = format!("duration:{secs}");
    argv[5] = &dur;
    for f in fields {
        argv.push("-e");
        argv.push(f);
    }
    let out = ns.cmd(&argv).output().expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split('|').map(str::to_string).collect())
        .collect()
}

// Every advert we send decodes in tshark with a good checksum (RFC 5798 §5.2.8 pseudo-header
// for v3, RFC 3768 §5.3.8 for v2), TTL/hop limit 255, TOS 0xc0, from the virtual MAC, and the
// fields as configured.
#[test]
fn every_advert_we_send_is_valid_for_tshark_with_the_configured_fields() {
    if skip_unless_root() {
        return;
    }
    let lan = Lan::new(&unique_prefix("wr"), 2).unwrap();
    let dir = std::env::temp_dir().join(&lan.prefix);
    std::fs::create_dir_all(&dir).unwrap();
    let insts = [
        Inst::v4("V3", 51, 150, "192.0.2.100/24"),
        Inst::v4("V2", 52, 120, "192.0.2.101/24")
            .version(2)
            .interval("1s")
            .with("authentication: {type: pass, password: secret}"),
        Inst::v4("V6", 53, 130, "2001:db8::100/64"),
    ];
    let a = Agent::start(&lan.hosts[0], &dir, &render_config(&dir, "1s", "", &insts)).unwrap();
    a.wait_state("V3", "MASTER", Duration::from_secs(3))
        .unwrap();
    a.wait_state("V2", "MASTER", Duration::from_secs(5))
        .unwrap();
    a.wait_state("V6", "MASTER", Duration::from_secs(3))
        .unwrap();
    let pkts = capture(
        &lan.hosts[1],
        2,
        &[
            "eth.src",
            "ip.ttl",
            "ipv6.hlim",
            "ip.dsfield",
            "ipv6.tclass",
            "vrrp.version",
            "vrrp.type",
            "vrrp.virt_rtr_id",
            "vrrp.prio",
            "vrrp.addr_count",
            "vrrp.checksum.status",
            "vrrp.ip_addr",
            "vrrp.ipv6_addr",
            "vrrp.auth_type",
            "vrrp.auth_string",
            "vrrp.adver_int",
            "vrrp.short_adver_int",
        ],
    );
    let by_vrid = |v: &str| pkts.iter().filter(|p| p[7] == v).collect::<Vec<_>>();
    let v3 = by_vrid("51");
    let v2 = by_vrid("52");
    let v6 = by_vrid("53");
    assert!(v3.len() >= 10, "v3 adverts at 100 ms in 2 s: {}", v3.len());
    assert!(!v2.is_empty(), "no v2 advert");
    assert!(v6.len() >= 10, "v6 adverts: {}", v6.len());
    for p in v3.iter().chain(&v2).chain(&v6) {
        // checksum.status: 1 = good in tshark's field encoding ("Good").
        assert_eq!(p[10], "1", "checksum not good: {p:?}");
        assert_eq!(p[6], "1", "type");
    }
    for p in &v3 {
        assert_eq!(
            (&p[0][..], &p[1][..], &p[3][..]),
            ("00:00:5e:00:01:33", "255", "0xc0"),
            "{p:?}"
        );
        assert_eq!(
            (&p[5][..], &p[8][..], &p[9][..], &p[11][..]),
            ("3", "150", "1", "192.0.2.100")
        );
        assert_eq!(p[16], "10", "v3 interval in centiseconds");
    }
    for p in &v2 {
        assert_eq!(
            (&p[0][..], &p[1][..], &p[5][..], &p[8][..]),
            ("00:00:5e:00:01:34", "255", "2", "120")
        );
        assert_eq!(
            (&p[13][..], &p[14][..], &p[15][..]),
            ("1", "secret", "1"),
            "{p:?}"
        );
    }
    for p in &v6 {
        assert_eq!(
            (&p[0][..], &p[2][..], &p[4][..]),
            ("00:00:5e:00:02:35", "255", "0x000000c0"),
            "{p:?}"
        );
        assert_eq!(
            (&p[5][..], &p[8][..], &p[12][..]),
            ("3", "130", "2001:db8::100")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// scapy sender for hostile adverts from `ns`.
fn scapy(ns: &Netns, script: &str) {
    let out = ns
        .cmd(&["/usr/bin/python3", "-c", script])
        .output()
        .expect("scapy");
    assert!(
        out.status.success(),
        "scapy: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// RFC 5798 §7.1: adverts failing any check are dropped and counted; none of them moves the
// Master. A well-formed higher-priority advert then does (the positive control).
#[test]
fn malformed_adverts_are_counted_and_change_nothing() {
    if skip_unless_root() {
        return;
    }
    let lan = Lan::new(&unique_prefix("ho"), 2).unwrap();
    let dir = std::env::temp_dir().join(&lan.prefix);
    std::fs::create_dir_all(&dir).unwrap();
    let a = Agent::start(
        &lan.hosts[0],
        &dir,
        &render_config(
            &dir,
            "1s",
            "",
            &[Inst::v4("VI", 51, 100, "192.0.2.100/24").interval("1s")],
        ),
    )
    .unwrap();
    a.wait_state("VI", "MASTER", Duration::from_secs(5))
        .unwrap();
    let before = a.status().unwrap();
    // Each advert claims priority 254 from a higher address: if any got through, the Master
    // would yield. Fields: version/type, vrid, prio, count, max adver int (1 s), checksum.
    let script = r#"
from scapy.all import *
from scapy.layers.vrrp import VRRPv3
import copy
base = IP(src="192.0.2.11", dst="224.0.0.18", ttl=255, tos=0xc0) / VRRPv3(vrid=51, priority=254, ipcount=1, adv=100, addrlist=["192.0.2.100"])
bad = []
p = base.copy(); p[IP].ttl = 254; bad.append(p)                       # TTL != 255
p = IP(raw(base)); p[VRRPv3].chksum = 0x1234; bad.append(p)          # bad checksum
p = base.copy(); p[VRRPv3].version = 4; bad.append(p)                # bad version
p = base.copy(); p[VRRPv3].type = 2; bad.append(p)                   # bad type
p = base.copy(); p[VRRPv3].ipcount = 3; bad.append(p)                # count vs length
p = base.copy(); p[VRRPv3].vrid = 77; bad.append(p)                  # unknown VRID
raw_short = Ether(src=get_if_hwaddr("eth0"), dst="01:00:5e:00:00:12") / IP(src="192.0.2.11", dst="224.0.0.18", ttl=255, proto=112) / Raw(b"\x31\x33")
for q in bad:
    sendp(Ether(src=get_if_hwaddr("eth0"), dst="01:00:5e:00:00:12") / q, iface="eth0", verbose=0)
sendp(raw_short, iface="eth0", verbose=0)
"#;
    scapy(&lan.hosts[1], script);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        a.state("VI"),
        "MASTER",
        "a malformed advert moved the Master:\n{}",
        a.proc.log_text()
    );
    let after = a.status().unwrap();
    let ctr = |s: &vrrp_agent::daemon::status::Status, k: &str| {
        s.interfaces[0].counters.get(k).copied().unwrap_or(0)
    };
    for k in [
        "vrrp_bad_ttl",
        "vrrp_bad_checksum",
        "vrrp_bad_version",
        "vrrp_bad_type",
        "vrrp_bad_length",
        "vrrp_unknown_vrid",
    ] {
        assert!(
            ctr(&after, k) > ctr(&before, k),
            "{k} not counted: {:?}",
            after.interfaces[0].counters
        );
    }
    assert_eq!(
        before.instances[0].last_transition,
        after.instances[0].last_transition
    );
    // Positive control: the same advert, well formed, takes mastership away.
    scapy(
        &lan.hosts[1],
        r#"
from scapy.all import *
from scapy.layers.vrrp import VRRPv3
p = Ether(src=get_if_hwaddr("eth0"), dst="01:00:5e:00:00:12") / IP(src="192.0.2.11", dst="224.0.0.18", ttl=255, tos=0xc0) / VRRPv3(vrid=51, priority=254, ipcount=1, adv=100, addrlist=["192.0.2.100"])
sendp(p, iface="eth0", verbose=0)
"#,
    );
    a.wait_state("VI", "BACKUP", Duration::from_secs(2))
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
