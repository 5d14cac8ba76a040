//! Table-driven BPF_PROG_TEST_RUN tests of the XDP data plane: every case is an input frame built
//! byte by byte, the map state it runs against, the expected verdict, the expected output frame
//! (byte-exact) and the one counter that must move (by exactly one; all others unchanged).
//! Each test function loads its own copy of the object, so their maps are independent.

use std::{net::IpAddr, time::Duration};

use vrrp_agent::xdp::{DataPlane, Prog};
use vrrp_common::{
    maps::{Heartbeat, MasterRecord, ROUTER_FLAG_V3_CSUM_AS_V2, Role},
    proto::{Family, virtual_mac},
    stats::Counter,
};
use vrrp_tests::{
    fixtures,
    frames::{self, *},
};

const XDP_DROP: u32 = 1;
const XDP_PASS: u32 = 2;
const XDP_TX: u32 = 3;

const IF_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const CLIENT_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0xaa];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x0b];
const VRRP_MCAST_MAC: [u8; 6] = [0x01, 0, 0x5e, 0, 0, 0x12];
const ZERO_MAC: [u8; 6] = [0; 6];

const VIP_A: [u8; 4] = [192, 0, 2, 100]; // VRID 51
const VIP_B: [u8; 4] = [192, 0, 2, 101]; // VRID 52
const VIP_ORPHAN: [u8; 4] = [192, 0, 2, 102]; // VRID 53, no router configured
const CLIENT4: [u8; 4] = [192, 0, 2, 10];
const ROUTER4: [u8; 4] = [192, 0, 2, 1];
const VRRP_GROUP: [u8; 4] = [224, 0, 0, 18];

const VIP6_A: [u8; 16] = v6(0x100); // VRID 51
const VIP6_B: [u8; 16] = v6(0x101); // VRID 52
const CLIENT6: [u8; 16] = v6(0x10);
const NOT_VIP6: [u8; 16] = v6(0x1);
const LL_PEER: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0b];
const VRRP_GROUP6: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12];

/// 2001:db8::`low`.
const fn v6(low: u16) -> [u8; 16] {
    let b = low.to_be_bytes();
    [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b[0], b[1],
    ]
}

fn vmac4(vrid: u8) -> [u8; 6] {
    virtual_mac(Family::V4, vrid)
}
fn vmac6(vrid: u8) -> [u8; 6] {
    virtual_mac(Family::V6, vrid)
}

/// A change to the base map state for one case.
#[derive(Clone, Copy, Debug)]
enum Mut {
    Router(Family, u8, Role, u8, u8),
    /// The advert-absorption record of (family, VRID).
    Master(Family, u8, MasterRecord),
    Stale,
    NeverRefreshed,
}

/// Expected output frame.
enum Out {
    Unchanged,
    Frame(Vec<u8>),
}

struct Case {
    name: &'static str,
    muts: Vec<Mut>,
    frame: Vec<u8>,
    verdict: u32,
    out: Out,
    counter: Counter,
}

fn case(name: &'static str, frame: Vec<u8>, verdict: u32, out: Out, counter: Counter) -> Case {
    Case {
        name,
        muts: vec![],
        frame,
        verdict,
        out,
        counter,
    }
}

impl Case {
    fn with(mut self, m: Mut) -> Self {
        self.muts.push(m);
        self
    }
}

const BASE_ROUTERS: [(Family, u8, Role, u8); 5] = [
    (Family::V4, 51, Role::Master, 3),
    (Family::V4, 52, Role::Backup, 3),
    (Family::V6, 51, Role::Master, 3),
    (Family::V6, 52, Role::Backup, 3),
    (Family::V4, 54, Role::Init, 3),
];
const TOUCHED_VRIDS: [u8; 6] = [7, 51, 52, 53, 54, 60];

fn setup_base(dp: &mut DataPlane) {
    dp.set_settings(IF_MAC, false).expect("settings");
    for vrid in TOUCHED_VRIDS {
        for fam in [Family::V4, Family::V6] {
            dp.set_router(fam, vrid, Role::Unconfigured, 0, 0)
                .expect("router reset");
            dp.set_master_record(fam, vrid, &MasterRecord::default())
                .expect("master record reset");
        }
    }
    for (fam, vrid, role, version) in BASE_ROUTERS {
        dp.set_router(fam, vrid, role, version, 0).expect("router");
    }
    let vips: [(IpAddr, u8); 6] = [
        (VIP_A.into(), 51),
        (VIP_B.into(), 52),
        (VIP_ORPHAN.into(), 53),
        ([192, 0, 2, 104].into(), 54),
        (VIP6_A.into(), 51),
        (VIP6_B.into(), 52),
    ];
    for (vip, vrid) in vips {
        dp.add_vip(vip, vrid).expect("vip");
    }
    dp.refresh_heartbeat(Duration::from_secs(3600))
        .expect("heartbeat");
}

fn apply(dp: &mut DataPlane, m: Mut) {
    match m {
        Mut::Router(f, vrid, role, version, flags) => dp
            .set_router(f, vrid, role, version, flags)
            .expect("router"),
        Mut::Master(f, vrid, rec) => dp.set_master_record(f, vrid, &rec).expect("master record"),
        // Written one second ago with a bound of one millisecond.
        Mut::Stale => dp
            .set_heartbeat(Heartbeat {
                last_ns: vrrp_agent::xdp::monotonic_ns() - 1_000_000_000,
                bound_ns: 1_000_000,
            })
            .expect("heartbeat"),
        Mut::NeverRefreshed => dp.set_heartbeat(Heartbeat::default()).expect("heartbeat"),
    }
}

fn run_table(table: Vec<Case>) {
    if !vrrp_tests::is_root() {
        vrrp_tests::skip("xdp_test_run needs root for BPF_PROG_TEST_RUN");
        return;
    }
    let mut dp = DataPlane::load_unattached().expect("load the eBPF object");
    let mut failures = Vec::new();
    for c in &table {
        setup_base(&mut dp);
        for m in &c.muts {
            apply(&mut dp, *m);
        }
        let before = dp.counters().expect("counters");
        let got = match dp.test_run(Prog::Vrrp, &c.frame) {
            Ok(g) => g,
            Err(e) => {
                failures.push(format!("{}: test run failed: {e:?}", c.name));
                continue;
            }
        };
        let delta = dp.counters().expect("counters").delta(&before);
        let want_frame = match &c.out {
            Out::Unchanged => c.frame.clone(),
            Out::Frame(f) => f.clone(),
        };
        if got.verdict != c.verdict {
            failures.push(format!(
                "{}: verdict {} want {}",
                c.name, got.verdict, c.verdict
            ));
        }
        if got.frame != want_frame {
            failures.push(format!(
                "{}: frame\n   got  {}\n   want {}",
                c.name,
                hexs(&got.frame),
                hexs(&want_frame)
            ));
        }
        if delta.nonzero() != vec![(c.counter, 1)] {
            failures.push(format!(
                "{}: counters {:?} want [({:?}, 1)]",
                c.name,
                delta.nonzero(),
                c.counter
            ));
        }
    }
    println!("{} cases, {} failures", table.len(), failures.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        table.len(),
        failures.join("\n")
    );
}

fn hexs(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------- ARP

fn arp_frame(dst: [u8; 6], op: u16, spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mut f = eth(
        dst,
        CLIENT_MAC,
        ETH_ARP,
        &arp(op, CLIENT_MAC, spa, ZERO_MAC, tpa),
    );
    f.resize(60, 0); // minimum Ethernet frame: 18 bytes of padding stay as they are
    f
}

fn arp_reply_frame(vrid: u8, vip: [u8; 4], to: [u8; 4]) -> Vec<u8> {
    let mut f = eth(
        CLIENT_MAC,
        vmac4(vrid),
        ETH_ARP,
        &arp(2, vmac4(vrid), vip, CLIENT_MAC, to),
    );
    f.resize(60, 0);
    f
}

fn arp_format(hrd: u16, pro: u16, hln: u8, pln: u8) -> Vec<u8> {
    eth(
        BROADCAST,
        CLIENT_MAC,
        ETH_ARP,
        &arp_raw(hrd, pro, hln, pln, 1, CLIENT_MAC, CLIENT4, ZERO_MAC, VIP_A),
    )
}

#[test]
fn arp_table() {
    use Counter::*;
    let req = arp_frame(BROADCAST, 1, CLIENT4, VIP_A);
    let answered = arp_reply_frame(51, VIP_A, CLIENT4);
    let mut t = vec![
        case(
            "ARP request for a Master VIP is answered from 00:00:5e:00:01:33",
            req.clone(),
            XDP_TX,
            Out::Frame(answered.clone()),
            ArpReplied,
        ),
        case(
            "unicast ARP request to the VMAC (cache refresh) is answered",
            arp_frame(vmac4(51), 1, CLIENT4, VIP_A),
            XDP_TX,
            Out::Frame(answered.clone()),
            ArpReplied,
        ),
        case(
            "ARP probe (spa 0.0.0.0, RFC 5227) for a VIP is answered with tpa 0.0.0.0",
            arp_frame(BROADCAST, 1, [0; 4], VIP_A),
            XDP_TX,
            Out::Frame(arp_reply_frame(51, VIP_A, [0; 4])),
            ArpReplied,
        ),
        case(
            "ARP request for a Backup VIP is dropped (RFC 5798 6.4.2)",
            arp_frame(BROADCAST, 1, CLIENT4, VIP_B),
            XDP_DROP,
            Out::Unchanged,
            ArpDroppedBackup,
        ),
        case(
            "ARP request for a VIP of an Init router is dropped",
            arp_frame(BROADCAST, 1, CLIENT4, [192, 0, 2, 104]),
            XDP_DROP,
            Out::Unchanged,
            ArpDroppedBackup,
        ),
        case(
            "ARP request for a VIP whose VRID has no router is dropped",
            arp_frame(BROADCAST, 1, CLIENT4, VIP_ORPHAN),
            XDP_DROP,
            Out::Unchanged,
            ArpDroppedBackup,
        ),
        case(
            "ARP request for a Master VIP with a stale heartbeat is dropped",
            req.clone(),
            XDP_DROP,
            Out::Unchanged,
            ArpDroppedStale,
        )
        .with(Mut::Stale),
        case(
            "ARP request with the heartbeat never written is dropped",
            req.clone(),
            XDP_DROP,
            Out::Unchanged,
            ArpDroppedStale,
        )
        .with(Mut::NeverRefreshed),
        case(
            "ARP request for a Backup VIP with a stale heartbeat counts as stale",
            arp_frame(BROADCAST, 1, CLIENT4, VIP_B),
            XDP_DROP,
            Out::Unchanged,
            ArpDroppedStale,
        )
        .with(Mut::Stale),
        case(
            "ARP for the VIP of another VRID that is Master is answered with that VRID's VMAC",
            arp_frame(BROADCAST, 1, CLIENT4, VIP_B),
            XDP_TX,
            Out::Frame(arp_reply_frame(52, VIP_B, CLIENT4)),
            ArpReplied,
        )
        .with(Mut::Router(Family::V4, 52, Role::Master, 3, 0)),
        case(
            "ARP for VRID 51's VIP is dropped when only VRID 52 is Master",
            req.clone(),
            XDP_DROP,
            Out::Unchanged,
            ArpDroppedBackup,
        )
        .with(Mut::Router(Family::V4, 51, Role::Backup, 3, 0))
        .with(Mut::Router(Family::V4, 52, Role::Master, 3, 0)),
        case(
            "ARP for a VIP whose VRID is Master only in IPv6 is dropped",
            req.clone(),
            XDP_DROP,
            Out::Unchanged,
            ArpDroppedBackup,
        )
        .with(Mut::Router(Family::V4, 51, Role::Unconfigured, 0, 0)),
        case(
            "ARP request for a non-VIP passes untouched",
            arp_frame(BROADCAST, 1, CLIENT4, ROUTER4),
            XDP_PASS,
            Out::Unchanged,
            ArpPassNotVip,
        ),
        case(
            "ARP reply about a VIP passes",
            arp_frame(IF_MAC, 2, CLIENT4, VIP_A),
            XDP_PASS,
            Out::Unchanged,
            ArpPassNotRequest,
        ),
        case(
            "gratuitous ARP request (spa == tpa == VIP) passes",
            arp_frame(BROADCAST, 1, VIP_A, VIP_A),
            XDP_PASS,
            Out::Unchanged,
            ArpPassNotRequest,
        ),
        case(
            "ARP opcode 3 (RARP request) passes",
            arp_frame(BROADCAST, 3, CLIENT4, VIP_A),
            XDP_PASS,
            Out::Unchanged,
            ArpPassNotRequest,
        ),
        case(
            "ARP with hrd 6 (IEEE 802) passes",
            arp_format(6, 0x0800, 6, 4),
            XDP_PASS,
            Out::Unchanged,
            ArpPassOtherFormat,
        ),
        case(
            "ARP with pro 0x86dd passes",
            arp_format(1, 0x86dd, 6, 4),
            XDP_PASS,
            Out::Unchanged,
            ArpPassOtherFormat,
        ),
        case(
            "ARP with hln 8 passes",
            arp_format(1, 0x0800, 8, 4),
            XDP_PASS,
            Out::Unchanged,
            ArpPassOtherFormat,
        ),
        case(
            "ARP with pln 16 passes",
            arp_format(1, 0x0800, 6, 16),
            XDP_PASS,
            Out::Unchanged,
            ArpPassOtherFormat,
        ),
        case(
            "ARP request to the VMAC of a Backup for a non-VIP is dropped by the VMAC rule",
            arp_frame(vmac4(52), 1, CLIENT4, ROUTER4),
            XDP_DROP,
            Out::Unchanged,
            VmacDroppedBackup,
        ),
    ];
    // Truncated at every header boundary: Ethernet only, inside the fixed ARP part, inside the
    // addresses (the kernel's test run refuses frames shorter than an Ethernet header).
    let full = eth(
        BROADCAST,
        CLIENT_MAC,
        ETH_ARP,
        &arp(1, CLIENT_MAC, CLIENT4, ZERO_MAC, VIP_A),
    );
    for (name, len) in [
        ("ARP frame cut after the Ethernet header is dropped", 14),
        ("ARP frame cut inside hrd..op (7 bytes) is dropped", 21),
        ("ARP frame cut after op is dropped", 22),
        ("ARP frame cut inside tpa (27 bytes) is dropped", 41),
    ] {
        t.push(case(
            name,
            full[..len].to_vec(),
            XDP_DROP,
            Out::Unchanged,
            DropTruncated,
        ));
    }
    run_table(t);
}

// ---------------------------------------------------------------- ND

fn ns_frame(
    src: [u8; 16],
    dst: [u8; 16],
    eth_dst: [u8; 6],
    target: [u8; 16],
    slla: bool,
    hop: u8,
) -> Vec<u8> {
    let icmp = icmpv6(src, dst, ns_body(target, slla.then_some(CLIENT_MAC)));
    eth(
        eth_dst,
        CLIENT_MAC,
        ETH_IPV6,
        &ipv6(src, dst, 58, hop, &icmp),
    )
}

fn ns_mcast(target: [u8; 16], slla: bool) -> Vec<u8> {
    let sn = solicited_node(target);
    ns_frame(CLIENT6, sn, ipv6_mcast_mac(sn), target, slla, 255)
}

/// An NS behind the given extension headers (each 8 bytes; kinds in order).
fn ns_behind(kinds: &[u8], target: [u8; 16]) -> Vec<u8> {
    let sn = solicited_node(target);
    let icmp = icmpv6(CLIENT6, sn, ns_body(target, Some(CLIENT_MAC)));
    let mut payload = Vec::new();
    for (i, k) in kinds.iter().enumerate() {
        let next = kinds.get(i + 1).copied().unwrap_or(58);
        payload.extend(ext8(*k, next));
    }
    payload.extend(icmp);
    let first = kinds.first().copied().unwrap_or(58);
    eth(
        ipv6_mcast_mac(sn),
        CLIENT_MAC,
        ETH_IPV6,
        &ipv6(CLIENT6, sn, first, 255, &payload),
    )
}

/// A frame with the given IPv6 payload length field but a body of `body` bytes.
fn ipv6_with_len(nh: u8, payload: &[u8], claimed: u16) -> Vec<u8> {
    let mut f = eth(
        BROADCAST,
        CLIENT_MAC,
        ETH_IPV6,
        &ipv6(CLIENT6, VIP6_A, nh, 255, payload),
    );
    f[18..20].copy_from_slice(&claimed.to_be_bytes());
    f
}

#[test]
fn nd_table() {
    use Counter::*;
    let na = expected_na(CLIENT_MAC, vmac6(51), VIP6_A, CLIENT6);
    assert_eq!(na.len(), 86);
    let mut short_ns = ns_body(VIP6_A, None);
    short_ns.truncate(20);
    let short_ns = icmpv6(CLIENT6, solicited_node(VIP6_A), short_ns);
    let mut code1 = ns_body(VIP6_A, Some(CLIENT_MAC));
    code1[1] = 1;
    let code1 = icmpv6(CLIENT6, solicited_node(VIP6_A), code1);
    let sn = solicited_node(VIP6_A);
    let echo = icmpv6(CLIENT6, VIP6_A, vec![128, 0, 0, 0, 0, 1, 0, 1]);
    let t = vec![
        case(
            "NS for a Master VIP with SLLA is answered with an NA from 00:00:5e:00:02:33",
            ns_mcast(VIP6_A, true),
            XDP_TX,
            Out::Frame(na.clone()),
            NdReplied,
        ),
        case(
            "NS for a Master VIP without SLLA is answered (frame grown by 8)",
            ns_mcast(VIP6_A, false),
            XDP_TX,
            Out::Frame(na.clone()),
            NdReplied,
        ),
        case(
            "unicast NS (NUD) to the VIP and VMAC is answered",
            ns_frame(CLIENT6, VIP6_A, vmac6(51), VIP6_A, true, 255),
            XDP_TX,
            Out::Frame(na.clone()),
            NdReplied,
        ),
        case(
            "NS behind a Hop-by-Hop header is answered (frame shrunk)",
            ns_behind(&[0], VIP6_A),
            XDP_TX,
            Out::Frame(na.clone()),
            NdReplied,
        ),
        case(
            "NS behind Hop-by-Hop + Destination Options is answered",
            ns_behind(&[0, 60], VIP6_A),
            XDP_TX,
            Out::Frame(na.clone()),
            NdReplied,
        ),
        case(
            "NS behind a Hop-by-Hop header for a Backup VIP is dropped",
            ns_behind(&[0], VIP6_B),
            XDP_DROP,
            Out::Unchanged,
            NdDroppedBackup,
        ),
        case(
            "NS behind five extension headers is not walked and passes",
            ns_behind(&[0, 60, 60, 60, 60], VIP6_A),
            XDP_PASS,
            Out::Unchanged,
            PassOther,
        ),
        case(
            "NS inside a fragment passes (RFC 6980)",
            ns_behind(&[44], VIP6_A),
            XDP_PASS,
            Out::Unchanged,
            PassOther,
        ),
        case(
            "NS for a Backup VIP is dropped (RFC 5798 6.4.2)",
            ns_mcast(VIP6_B, true),
            XDP_DROP,
            Out::Unchanged,
            NdDroppedBackup,
        ),
        case(
            "NS for a Master VIP with a stale heartbeat is dropped",
            ns_mcast(VIP6_A, true),
            XDP_DROP,
            Out::Unchanged,
            NdDroppedStale,
        )
        .with(Mut::Stale),
        case(
            "NS for a VIP of another VRID that is Master is answered from its VMAC",
            ns_mcast(VIP6_B, true),
            XDP_TX,
            Out::Frame(expected_na(CLIENT_MAC, vmac6(52), VIP6_B, CLIENT6)),
            NdReplied,
        )
        .with(Mut::Router(Family::V6, 52, Role::Master, 3, 0)),
        case(
            "NS for a VIP whose VRID is Master only in IPv4 is dropped",
            ns_mcast(VIP6_A, true),
            XDP_DROP,
            Out::Unchanged,
            NdDroppedBackup,
        )
        .with(Mut::Router(Family::V6, 51, Role::Unconfigured, 0, 0)),
        case(
            "NS for a non-VIP passes",
            ns_mcast(NOT_VIP6, true),
            XDP_PASS,
            Out::Unchanged,
            NdPassNotVip,
        ),
        case(
            "DAD NS (source ::) for a VIP passes",
            ns_frame([0; 16], sn, ipv6_mcast_mac(sn), VIP6_A, false, 255),
            XDP_PASS,
            Out::Unchanged,
            NdPassDad,
        ),
        case(
            "NS with hop limit 254 is dropped (RFC 4861 7.1.1)",
            ns_frame(CLIENT6, sn, ipv6_mcast_mac(sn), VIP6_A, true, 254),
            XDP_DROP,
            Out::Unchanged,
            NdDroppedInvalid,
        ),
        case(
            "NS with code 1 is dropped",
            eth(
                ipv6_mcast_mac(sn),
                CLIENT_MAC,
                ETH_IPV6,
                &ipv6(CLIENT6, sn, 58, 255, &code1),
            ),
            XDP_DROP,
            Out::Unchanged,
            NdDroppedInvalid,
        ),
        case(
            "NS with ICMP length 20 is dropped",
            eth(
                ipv6_mcast_mac(sn),
                CLIENT_MAC,
                ETH_IPV6,
                &ipv6(CLIENT6, sn, 58, 255, &short_ns),
            ),
            XDP_DROP,
            Out::Unchanged,
            NdDroppedInvalid,
        ),
        case(
            "NS for a multicast target is dropped",
            ns_mcast([0xff, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], true),
            XDP_DROP,
            Out::Unchanged,
            NdDroppedInvalid,
        ),
        case(
            "ICMPv6 echo request to a VIP passes",
            eth(
                vmac6(51),
                CLIENT_MAC,
                ETH_IPV6,
                &ipv6(CLIENT6, VIP6_A, 58, 64, &echo),
            ),
            XDP_PASS,
            Out::Frame(eth(
                IF_MAC,
                CLIENT_MAC,
                ETH_IPV6,
                &ipv6(CLIENT6, VIP6_A, 58, 64, &echo),
            )),
            VmacMasterPassed,
        ),
        case(
            "ICMPv6 echo request to a non-VMAC passes untouched",
            eth(
                IF_MAC,
                CLIENT_MAC,
                ETH_IPV6,
                &ipv6(CLIENT6, VIP6_A, 58, 64, &echo),
            ),
            XDP_PASS,
            Out::Unchanged,
            NdPassNotVip,
        ),
        case(
            "IPv6 frame cut inside the IPv6 header is dropped",
            ns_mcast(VIP6_A, true)[..14 + 30].to_vec(),
            XDP_DROP,
            Out::Unchanged,
            DropTruncated,
        ),
        case(
            "IPv6 frame cut after the IPv6 header (NS announced) is dropped",
            ns_mcast(VIP6_A, true)[..54].to_vec(),
            XDP_DROP,
            Out::Unchanged,
            DropTruncated,
        ),
        case(
            "NS whose payload length exceeds the frame is dropped",
            ipv6_with_len(58, &icmpv6(CLIENT6, VIP6_A, ns_body(VIP6_A, None)), 40),
            XDP_DROP,
            Out::Unchanged,
            DropTruncated,
        ),
        case(
            "IPv6 frame cut inside a Hop-by-Hop header is dropped",
            ns_behind(&[0], VIP6_A)[..58].to_vec(),
            XDP_DROP,
            Out::Unchanged,
            DropTruncated,
        ),
        case(
            "NS cut inside the target is dropped",
            ns_mcast(VIP6_A, false)[..70].to_vec(),
            XDP_DROP,
            Out::Unchanged,
            DropTruncated,
        ),
    ];
    run_table(t);
}

// ---------------------------------------------------------------- VRRP

fn golden4(hex: &str) -> Vec<u8> {
    eth(VRRP_MCAST_MAC, PEER_MAC, ETH_IP, &frames::hex(hex))
}

fn golden6(hex: &str) -> Vec<u8> {
    eth(
        [0x33, 0x33, 0, 0, 0, 0x12],
        PEER_MAC,
        ETH_IPV6,
        &frames::hex(hex),
    )
}

/// A v3 IPv4 advert from 192.0.2.2 for VRID `vrid`, built with `frames::vrrp`.
fn advert4(version: u8, vrid: u8, ttl: u8, dst: [u8; 4], options: &[u8], frag: u16) -> Vec<u8> {
    let src = [192, 0, 2, 2];
    let len = if version == 2 { 20 } else { 12 };
    let m = vrrp(
        version,
        vrid,
        100,
        &[&VIP_A],
        100,
        pseudo4(src, dst, 112, len),
    );
    eth(
        VRRP_MCAST_MAC,
        PEER_MAC,
        ETH_IP,
        &ipv4(src, dst, 112, ttl, frag, options, &m),
    )
}

fn advert4_msg(m: &[u8]) -> Vec<u8> {
    eth(
        VRRP_MCAST_MAC,
        PEER_MAC,
        ETH_IP,
        &ipv4([192, 0, 2, 2], VRRP_GROUP, 112, 255, 0, &[], m),
    )
}

fn advert6(hop: u8, exts: &[u8], version: u8) -> Vec<u8> {
    let m = vrrp(
        version,
        51,
        100,
        &[&VIP6_A],
        100,
        pseudo6(LL_PEER, VRRP_GROUP6, 112, 24),
    );
    let mut payload = Vec::new();
    for (i, k) in exts.iter().enumerate() {
        payload.extend(ext8(*k, exts.get(i + 1).copied().unwrap_or(112)));
    }
    payload.extend(m);
    let first = exts.first().copied().unwrap_or(112);
    eth(
        [0x33, 0x33, 0, 0, 0, 0x12],
        PEER_MAC,
        ETH_IPV6,
        &ipv6(LL_PEER, VRRP_GROUP6, first, hop, &payload),
    )
}

#[test]
fn vrrp_table() {
    use Counter::*;
    let v2_router = Mut::Router(Family::V4, 51, Role::Backup, 2, 0);
    let v3_good = advert4(3, 51, 255, VRRP_GROUP, &[], 0);
    // v3 message whose checksum was computed without the pseudo-header (as v2 does).
    let as_v2 = advert4_msg(&vrrp(3, 51, 100, &[&VIP_A], 100, 0));
    let mut bad_sum = v3_good.clone();
    bad_sum[14 + 20 + 7] ^= 0x01;
    let mut type2 = vrrp(3, 51, 100, &[&VIP_A], 100, 0);
    type2[0] = 0x32;
    type2[6] = 0;
    type2[7] = 0;
    let type2 = advert4_msg(&{
        let c = checksum(pseudo4([192, 0, 2, 2], VRRP_GROUP, 112, 12), &type2);
        type2[6..8].copy_from_slice(&c.to_be_bytes());
        type2
    });
    let version4 = {
        let mut m = vrrp(3, 51, 100, &[&VIP_A], 100, 0);
        m[0] = 0x41;
        m[6] = 0;
        m[7] = 0;
        let c = checksum(pseudo4([192, 0, 2, 2], VRRP_GROUP, 112, 12), &m);
        m[6..8].copy_from_slice(&c.to_be_bytes());
        advert4_msg(&m)
    };
    // Count says 2 addresses, only one present.
    let short = {
        let mut m = vrrp(3, 51, 100, &[&VIP_A], 100, 0);
        m[3] = 2;
        advert4_msg(&m)
    };
    let tiny = advert4_msg(&[0x31, 51, 100, 0]);
    let mut total_too_long = v3_good.clone();
    total_too_long[16..18].copy_from_slice(&(40u16).to_be_bytes());
    let router_alert = [0x94, 0x04, 0x00, 0x00];
    let mut opts_bad = advert4(3, 51, 255, VRRP_GROUP, &router_alert, 0);
    let n = opts_bad.len();
    opts_bad[n - 1] ^= 0xff;
    let mut ihl4 = v3_good.clone();
    ihl4[14] = 0x44;
    let t = vec![
        case(
            "keepalived v3 golden advert passes",
            golden4(fixtures::V3_KEEPALIVED),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        ),
        case(
            "FRR v3 golden advert (DF set) passes",
            golden4(fixtures::V3_FRR),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        ),
        case(
            "keepalived v3 golden advert passes on a Backup",
            golden4(fixtures::V3_KEEPALIVED),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(Mut::Router(Family::V4, 51, Role::Backup, 3, 0)),
        case(
            "keepalived v2 golden advert passes on a v2 router",
            golden4(fixtures::V2_KEEPALIVED),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(v2_router),
        case(
            "v2 golden advert to a v3 router is dropped",
            golden4(fixtures::V2_KEEPALIVED),
            XDP_DROP,
            Out::Unchanged,
            VrrpBadVersion,
        ),
        case(
            "v3 golden advert to a v2 router is dropped",
            golden4(fixtures::V3_KEEPALIVED),
            XDP_DROP,
            Out::Unchanged,
            VrrpBadVersion,
        )
        .with(v2_router),
        case(
            "keepalived v3 IPv6 golden advert passes",
            golden6(fixtures::V3_IPV6_KEEPALIVED),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        ),
        case(
            "IPv4 advert for a VRID configured only for IPv6 is dropped",
            golden4(fixtures::V3_KEEPALIVED),
            XDP_DROP,
            Out::Unchanged,
            VrrpUnknownVrid,
        )
        .with(Mut::Router(Family::V4, 51, Role::Unconfigured, 0, 0)),
        case(
            "IPv6 advert for a VRID configured only for IPv4 is dropped",
            golden6(fixtures::V3_IPV6_KEEPALIVED),
            XDP_DROP,
            Out::Unchanged,
            VrrpUnknownVrid,
        )
        .with(Mut::Router(Family::V6, 51, Role::Unconfigured, 0, 0)),
        case(
            "advert for an unconfigured VRID is dropped (RFC 5798 7.1)",
            advert4(3, 60, 255, VRRP_GROUP, &[], 0),
            XDP_DROP,
            Out::Unchanged,
            VrrpUnknownVrid,
        ),
        case(
            "built v3 advert passes",
            v3_good.clone(),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        ),
        case(
            "unicast v3 advert passes",
            advert4(3, 51, 255, ROUTER4, &[], 0),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        ),
        case(
            "advert with TTL 254 is dropped",
            advert4(3, 51, 254, VRRP_GROUP, &[], 0),
            XDP_DROP,
            Out::Unchanged,
            VrrpBadTtl,
        ),
        case(
            "advert with version 4 is dropped",
            version4,
            XDP_DROP,
            Out::Unchanged,
            VrrpBadVersion,
        ),
        case(
            "advert with type 2 is dropped",
            type2,
            XDP_DROP,
            Out::Unchanged,
            VrrpBadType,
        ),
        case(
            "advert whose count exceeds its length is dropped",
            short,
            XDP_DROP,
            Out::Unchanged,
            VrrpBadLength,
        ),
        case(
            "IP payload shorter than the VRRP header is dropped",
            tiny,
            XDP_DROP,
            Out::Unchanged,
            VrrpBadLength,
        ),
        case(
            "advert with a flipped checksum bit is dropped",
            bad_sum,
            XDP_DROP,
            Out::Unchanged,
            VrrpBadChecksum,
        ),
        case(
            "v3 advert with a v2-style checksum is dropped without the flag",
            as_v2.clone(),
            XDP_DROP,
            Out::Unchanged,
            VrrpBadChecksum,
        ),
        case(
            "v3 advert with a v2-style checksum passes with V3_CSUM_AS_V2",
            as_v2,
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(Mut::Router(
            Family::V4,
            51,
            Role::Master,
            3,
            ROUTER_FLAG_V3_CSUM_AS_V2,
        )),
        case(
            "proper v3 advert still passes with V3_CSUM_AS_V2",
            v3_good.clone(),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(Mut::Router(
            Family::V4,
            51,
            Role::Master,
            3,
            ROUTER_FLAG_V3_CSUM_AS_V2,
        )),
        case(
            "advert with IPv4 options (IHL 6, router alert) passes",
            advert4(3, 51, 255, VRRP_GROUP, &router_alert, 0),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        ),
        case(
            "advert with IPv4 options and a bad VRRP checksum is dropped",
            opts_bad,
            XDP_DROP,
            Out::Unchanged,
            VrrpBadChecksum,
        ),
        case(
            "advert in a first fragment (MF) is dropped",
            advert4(3, 51, 255, VRRP_GROUP, &[], 0x2000),
            XDP_DROP,
            Out::Unchanged,
            VrrpDroppedFragment,
        ),
        case(
            "advert in a later fragment (offset 8) is dropped",
            advert4(3, 51, 255, VRRP_GROUP, &[], 0x0001),
            XDP_DROP,
            Out::Unchanged,
            VrrpDroppedFragment,
        ),
        case(
            "IPv4 header cut at 19 bytes is dropped",
            v3_good[..14 + 19].to_vec(),
            XDP_DROP,
            Out::Unchanged,
            DropTruncated,
        ),
        case(
            "IPv4 total length beyond the frame is dropped",
            total_too_long,
            XDP_DROP,
            Out::Unchanged,
            DropTruncated,
        ),
        case(
            "built IPv6 v3 advert passes",
            advert6(255, &[], 3),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        ),
        case(
            "IPv6 advert behind a Hop-by-Hop header passes",
            advert6(255, &[0], 3),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        ),
        case(
            "IPv6 advert with hop limit 64 is dropped",
            advert6(64, &[], 3),
            XDP_DROP,
            Out::Unchanged,
            VrrpBadTtl,
        ),
        case(
            "VRRPv2 over IPv6 is dropped",
            advert6(255, &[], 2),
            XDP_DROP,
            Out::Unchanged,
            VrrpBadVersion,
        ),
        case(
            "IPv6 advert behind a Fragment header is dropped",
            advert6(255, &[44], 3),
            XDP_DROP,
            Out::Unchanged,
            VrrpDroppedFragment,
        ),
        case(
            "UDP over IPv4 passes",
            eth(
                IF_MAC,
                CLIENT_MAC,
                ETH_IP,
                &ipv4(CLIENT4, ROUTER4, 17, 64, 0, &[], &[0; 8]),
            ),
            XDP_PASS,
            Out::Unchanged,
            PassOther,
        ),
        case(
            "protocol-112 packet with IHL 4 is left to the stack",
            ihl4,
            XDP_PASS,
            Out::Unchanged,
            PassOther,
        ),
        case(
            "IPv6 advert behind an AH header is not walked and passes",
            advert6(255, &[], 3)
                .iter()
                .enumerate()
                .map(|(i, b)| if i == 20 { 51 } else { *b })
                .collect(),
            XDP_PASS,
            Out::Unchanged,
            PassOther,
        ),
    ];
    run_table(t);
}

// ---------------------------------------------------------------- virtual MAC, VLAN, other

// ---------------------------------------------------------------- advert absorption

const PEER4: [u8; 4] = [192, 0, 2, 2];

/// A v3 IPv4 advert from `src` for VRID 52 (Backup in the base state): `prio`, `interval`
/// (centiseconds), the given addresses.
fn advert52(src: [u8; 4], prio: u8, interval: u16, addrs: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
    let len = 8 + 4 * addrs.len();
    let m = vrrp(
        3,
        52,
        prio,
        addrs,
        interval,
        pseudo4(src, VRRP_GROUP, 112, len),
    );
    let f = eth(
        VRRP_MCAST_MAC,
        PEER_MAC,
        ETH_IP,
        &ipv4(src, VRRP_GROUP, 112, 255, 0, &[], &m),
    );
    (m, f)
}

/// The record the agent writes for the message `m` from `src` (the agent-side digest).
fn record4(src: [u8; 4], m: &[u8]) -> MasterRecord {
    let mut s = [0u8; 16];
    s[..4].copy_from_slice(&src);
    MasterRecord::for_advert(Family::V4, s, m).expect("record")
}

fn advert6_52(prio: u8) -> (Vec<u8>, Vec<u8>) {
    let m = vrrp(
        3,
        52,
        prio,
        &[&VIP6_B],
        100,
        pseudo6(LL_PEER, VRRP_GROUP6, 112, 24),
    );
    let f = eth(
        [0x33, 0x33, 0, 0, 0, 0x12],
        PEER_MAC,
        ETH_IPV6,
        &ipv6(LL_PEER, VRRP_GROUP6, 112, 255, &m),
    );
    (m, f)
}

#[test]
fn absorb_table() {
    use Counter::*;
    let (m, routine) = advert52(PEER4, 100, 100, &[&VIP_B]);
    let rec = record4(PEER4, &m);
    let recorded = Mut::Master(Family::V4, 52, rec);
    let (_, other_src) = advert52([192, 0, 2, 3], 100, 100, &[&VIP_B]);
    let (_, higher) = advert52(PEER4, 101, 100, &[&VIP_B]);
    let (_, lower) = advert52(PEER4, 99, 100, &[&VIP_B]);
    let (_, zero) = advert52(PEER4, 0, 100, &[&VIP_B]);
    let (_, slower) = advert52(PEER4, 100, 200, &[&VIP_B]);
    let (_, more_addrs) = advert52(PEER4, 100, 100, &[&VIP_B, &VIP_A]);
    let (_, other_addr) = advert52(PEER4, 100, 100, &[&VIP_A]);
    // Same addresses, other order: the digest is positional.
    let (m2, two) = advert52(PEER4, 100, 100, &[&VIP_A, &VIP_B]);
    let (_, two_swapped) = advert52(PEER4, 100, 100, &[&VIP_B, &VIP_A]);
    let rec2 = record4(PEER4, &m2);
    let (m6, routine6) = advert6_52(100);
    let mut src6 = [0u8; 16];
    src6.copy_from_slice(&LL_PEER);
    let rec6 = MasterRecord::for_advert(Family::V6, src6, &m6).expect("record6");
    let (_, higher6) = advert6_52(110);
    let t = vec![
        case(
            "routine advert from the recorded Master on a Backup is absorbed",
            routine.clone(),
            XDP_DROP,
            Out::Unchanged,
            VrrpAbsorbed,
        )
        .with(recorded),
        case(
            "IPv6 routine advert from the recorded Master is absorbed",
            routine6.clone(),
            XDP_DROP,
            Out::Unchanged,
            VrrpAbsorbed,
        )
        .with(Mut::Master(Family::V6, 52, rec6)),
        case(
            "IPv6 advert with another priority passes",
            higher6,
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(Mut::Master(Family::V6, 52, rec6)),
        case(
            "no record: passes",
            routine.clone(),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        ),
        case(
            "record disabled: passes",
            routine.clone(),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(Mut::Master(
            Family::V4,
            52,
            MasterRecord { enabled: 0, ..rec },
        )),
        case(
            "record of the other family: passes",
            routine.clone(),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(Mut::Master(Family::V6, 52, rec)),
        case(
            "another source passes",
            other_src,
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(recorded),
        case(
            "higher priority passes",
            higher,
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(recorded),
        case(
            "lower priority passes",
            lower,
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(recorded),
        case(
            "priority 0 passes",
            zero,
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(recorded),
        case(
            "another interval passes",
            slower,
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(recorded),
        case(
            "an added address passes",
            more_addrs,
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(recorded),
        case(
            "another address passes",
            other_addr,
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(recorded),
        case(
            "two addresses in the recorded order are absorbed",
            two,
            XDP_DROP,
            Out::Unchanged,
            VrrpAbsorbed,
        )
        .with(Mut::Master(Family::V4, 52, rec2)),
        case(
            "the same addresses reordered pass",
            two_swapped,
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(Mut::Master(Family::V4, 52, rec2)),
        case(
            "recorded version 2 against a v3 advert passes",
            routine.clone(),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(Mut::Master(
            Family::V4,
            52,
            MasterRecord { version: 2, ..rec },
        )),
        case(
            "Master role: passes even with a matching record",
            routine.clone(),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(recorded)
        .with(Mut::Router(Family::V4, 52, Role::Master, 3, 0)),
        case(
            "Init role: passes even with a matching record",
            routine.clone(),
            XDP_PASS,
            Out::Unchanged,
            VrrpPassed,
        )
        .with(recorded)
        .with(Mut::Router(Family::V4, 52, Role::Init, 3, 0)),
        case(
            "a bad checksum is still dropped as such",
            {
                let mut f = routine.clone();
                let n = f.len();
                f[n - 1] ^= 1;
                f
            },
            XDP_DROP,
            Out::Unchanged,
            VrrpBadChecksum,
        )
        .with(recorded),
        case(
            "TTL 254 is still dropped as such",
            {
                let (mm, _) = advert52(PEER4, 100, 100, &[&VIP_B]);
                eth(
                    VRRP_MCAST_MAC,
                    PEER_MAC,
                    ETH_IP,
                    &ipv4(PEER4, VRRP_GROUP, 112, 254, 0, &[], &mm),
                )
            },
            XDP_DROP,
            Out::Unchanged,
            VrrpBadTtl,
        )
        .with(recorded),
    ];
    run_table(t);
}

/// The program stamps the record with CLOCK_MONOTONIC (the agent's clock) and counts.
#[test]
fn absorb_stamps_last_seen_with_the_monotonic_clock() {
    if !vrrp_tests::is_root() {
        vrrp_tests::skip("xdp_test_run needs root for BPF_PROG_TEST_RUN");
        return;
    }
    let mut dp = DataPlane::load_unattached().expect("load the eBPF object");
    setup_base(&mut dp);
    let (m, routine) = advert52(PEER4, 100, 100, &[&VIP_B]);
    dp.set_master_record(Family::V4, 52, &record4(PEER4, &m))
        .expect("record");
    let mono = || {
        let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
        ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64
    };
    let before = mono();
    for _ in 0..3 {
        assert_eq!(dp.test_run(Prog::Vrrp, &routine).unwrap().verdict, XDP_DROP);
    }
    let after = mono();
    let r = dp.master_record(Family::V4, 52).expect("read record");
    assert_eq!(r.absorbed, 3);
    assert!(
        (before..=after).contains(&r.last_seen_ns),
        "last_seen_ns {} not within [{before}, {after}]",
        r.last_seen_ns
    );
    // The agent's fields are untouched.
    assert_eq!(
        MasterRecord {
            last_seen_ns: 0,
            absorbed: 0,
            ..r
        },
        record4(PEER4, &m)
    );
}

fn udp4_to(dst: [u8; 6]) -> Vec<u8> {
    eth(
        dst,
        CLIENT_MAC,
        ETH_IP,
        &ipv4(CLIENT4, VIP_A, 17, 64, 0, &[], &[0; 12]),
    )
}

fn tagged(tpid: u16, dst: [u8; 6]) -> Vec<u8> {
    let inner = udp4_to(dst);
    let mut f = inner[..12].to_vec();
    f.extend_from_slice(&tpid.to_be_bytes());
    f.extend_from_slice(&[0, 10]);
    f.extend_from_slice(&inner[12..]);
    f
}

#[test]
fn virtual_mac_and_other_table() {
    use Counter::*;
    let t = vec![
        case(
            "frame to a Master's VMAC is rewritten to the interface MAC and passed",
            udp4_to(vmac4(51)),
            XDP_PASS,
            Out::Frame(udp4_to(IF_MAC)),
            VmacMasterPassed,
        ),
        case(
            "frame to a Backup's VMAC is dropped (RFC 5798 6.4.2)",
            udp4_to(vmac4(52)),
            XDP_DROP,
            Out::Unchanged,
            VmacDroppedBackup,
        ),
        case(
            "frame to a Master's VMAC with a stale heartbeat is dropped",
            udp4_to(vmac4(51)),
            XDP_DROP,
            Out::Unchanged,
            VmacDroppedBackup,
        )
        .with(Mut::Stale),
        case(
            "frame to an Init router's VMAC is dropped",
            udp4_to(vmac4(54)),
            XDP_DROP,
            Out::Unchanged,
            VmacDroppedBackup,
        ),
        case(
            "frame to the VMAC of a VRID not configured here passes untouched",
            udp4_to(vmac4(7)),
            XDP_PASS,
            Out::Unchanged,
            PassOther,
        ),
        case(
            "frame to an IPv6 Master's VMAC is rewritten and passed",
            udp4_to(vmac6(51)),
            XDP_PASS,
            Out::Frame(udp4_to(IF_MAC)),
            VmacMasterPassed,
        ),
        case(
            "frame to an IPv6 Backup's VMAC is dropped",
            udp4_to(vmac6(52)),
            XDP_DROP,
            Out::Unchanged,
            VmacDroppedBackup,
        ),
        case(
            "VRRP advert to a Backup's VMAC is dropped by the VMAC rule",
            {
                let mut f = advert4(3, 51, 255, VRRP_GROUP, &[], 0);
                f[..6].copy_from_slice(&vmac4(52));
                f
            },
            XDP_DROP,
            Out::Unchanged,
            VmacDroppedBackup,
        ),
        case(
            "802.1Q-tagged frame to a Backup's VMAC passes untouched",
            tagged(0x8100, vmac4(52)),
            XDP_PASS,
            Out::Unchanged,
            PassVlan,
        ),
        case(
            "802.1ad-tagged frame passes untouched",
            tagged(0x88a8, vmac4(51)),
            XDP_PASS,
            Out::Unchanged,
            PassVlan,
        ),
        case(
            "frame of another ethertype passes untouched",
            eth(IF_MAC, CLIENT_MAC, 0x88b5, &[0; 46]),
            XDP_PASS,
            Out::Unchanged,
            PassOther,
        ),
        case(
            "frame to the interface MAC passes untouched",
            udp4_to(IF_MAC),
            XDP_PASS,
            Out::Unchanged,
            PassOther,
        ),
        case(
            "Ethernet header alone with ethertype IPv4 is dropped",
            udp4_to(IF_MAC)[..14].to_vec(),
            XDP_DROP,
            Out::Unchanged,
            DropTruncated,
        ),
    ];
    run_table(t);
}

#[test]
fn na_checksum_in_expected_frame_verifies_independently() {
    // The expected NA's checksum, recomputed over pseudo-header + message, folds to zero.
    let na = expected_na(CLIENT_MAC, vmac6(51), VIP6_A, CLIENT6);
    let icmp = &na[54..];
    assert_eq!(checksum(pseudo6(VIP6_A, CLIENT6, 58, icmp.len()), icmp), 0);
    assert_eq!(&icmp[..8], &[136, 0, icmp[2], icmp[3], 0x60, 0, 0, 0]);
}
