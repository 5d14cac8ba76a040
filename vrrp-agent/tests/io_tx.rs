//! Root-only: `PacketSender` puts the frames of `io::frame` on a veth in one namespace; the other
//! namespace captures them byte for byte, and tshark's dissectors check every checksum.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use common::{NsPair, capture_from, in_netns, is_root, tshark_fields, write_pcap};
use vrrp_agent::io::frame::{self, AdvertV4, AdvertV6, internet_checksum};
use vrrp_agent::io::tx::PacketSender;

const VRID: u8 = 51;
const VMAC4: [u8; 6] = [0, 0, 0x5e, 0, 1, VRID];
const VMAC6: [u8; 6] = [0, 0, 0x5e, 0, 2, VRID];
const VIP4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 100);
const GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// A VRRPv3 advert (RFC 5798 §5.1) for one address, priority 150, 1 s, checksum over the
/// pseudo-header (§5.2.8). Built here independently of the crate's codec.
fn vrrp_v3(src: &[u8], dst: &[u8], vip: &[u8]) -> Vec<u8> {
    let mut m = vec![0x31, VRID, 150, 1, 0x00, 0x64, 0, 0];
    m.extend_from_slice(vip);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(src);
    pseudo.extend_from_slice(dst);
    if src.len() == 4 {
        pseudo.extend_from_slice(&[0, 112]);
        pseudo.extend_from_slice(&(m.len() as u16).to_be_bytes());
    } else {
        pseudo.extend_from_slice(&(m.len() as u32).to_be_bytes());
        pseudo.extend_from_slice(&[0, 0, 0, 112]);
    }
    pseudo.extend_from_slice(&m);
    let c = internet_checksum(&pseudo);
    m[6..8].copy_from_slice(&c.to_be_bytes());
    m
}

#[test]
fn adverts_garp_and_na_leave_with_the_virtual_mac_and_good_checksums() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let ns = NsPair::new();
    let ll_a = NsPair::link_local(&ns.a, "va");
    let vip6: Ipv6Addr = "2001:db8::100".parse().expect("literal");
    let group6: Ipv6Addr = "ff02::12".parse().expect("literal");

    let src4 = Ipv4Addr::new(192, 0, 2, 1);
    let adv4 = frame::advert_v4(
        &AdvertV4 {
            src_mac: VMAC4,
            dst_mac: frame::multicast_mac_v4(GROUP4),
            src: src4,
            dst: GROUP4,
            id: 7,
        },
        &vrrp_v3(&src4.octets(), &GROUP4.octets(), &VIP4.octets()),
    )
    .expect("advert v4");
    let adv6 = frame::advert_v6(
        &AdvertV6 {
            src_mac: VMAC6,
            dst_mac: frame::multicast_mac_v6(group6),
            src: ll_a,
            dst: group6,
        },
        &vrrp_v3(&ll_a.octets(), &group6.octets(), &vip6.octets()),
    )
    .expect("advert v6");
    let garp = frame::gratuitous_arp(VMAC4, VIP4);
    let na = frame::unsolicited_na(VMAC6, vip6, vip6);

    let cap4 = capture_from(&ns.b, "vb", VMAC4, 2, Duration::from_secs(3));
    let cap6 = capture_from(&ns.b, "vb", VMAC6, 2, Duration::from_secs(3));
    let sent = (adv4.clone(), adv6.clone(), garp.clone(), na.clone());
    in_netns(&ns.a, move || async move {
        let tx = PacketSender::open("va").expect("open sender");
        // One single send and one batch of three.
        tx.send(&sent.0).expect("send advert v4");
        tx.send_batch(&[&sent.2, &sent.1, &sent.3])
            .expect("send batch");
    });
    let got4 = cap4.join().expect("capture v4");
    let got6 = cap6.join().expect("capture v6");
    assert_eq!(got4, vec![adv4, garp], "IPv4-side frames differ");
    assert_eq!(got6, vec![adv6, na], "IPv6-side frames differ");

    let dir = std::env::temp_dir().join(format!("io-tx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let pcap = dir.join("tx.pcap");
    let mut all = got4.clone();
    all.extend(got6.iter().cloned());
    write_pcap(&pcap, &all);
    let lines = tshark_fields(
        &pcap,
        &[
            "ip.checksum.status",
            "ip.ttl",
            "ip.dsfield",
            "vrrp.version",
            "vrrp.virt_rtr_id",
            "vrrp.prio",
            "vrrp.checksum.status",
            "arp.opcode",
            "arp.isgratuitous",
            "ipv6.hlim",
            "ipv6.tclass",
            "icmpv6.checksum.status",
            "icmpv6.nd.na.flag.r",
            "icmpv6.nd.na.flag.s",
            "icmpv6.nd.na.flag.o",
            "icmpv6.nd.na.target_address",
            "icmpv6.opt.linkaddr",
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
    // Checksum status 1 = Good (Wireshark's PROTO_CHECKSUM_E_GOOD; 0 = Bad, 2 = Unverified).
    // Rows: advert v4, GARP, advert v6, NA (capture order per address family).
    assert_eq!(
        lines,
        vec![
            "1|255|0xc0|3|51|150|1||||||||||",
            "|||||||1|1||||||||",
            "|||3|51|150|1|||255|0x000000c0||||||",
            "|||||||||255|0x00000000|1|1|0|1|2001:db8::100|00:00:5e:00:02:33",
        ],
        "tshark's view of the frames"
    );
}

#[test]
fn sender_on_a_missing_interface_names_it_in_the_error() {
    let err = PacketSender::open("nosuchif0").expect_err("must fail");
    assert_eq!(err.ifname, "nosuchif0");
    assert_eq!(err.op, "if_nametoindex");
    assert!(err.to_string().contains("nosuchif0"), "{err}");
}

#[test]
fn frames_shorter_than_an_ethernet_header_are_refused() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let ns = NsPair::new();
    in_netns(&ns.a, || async {
        let tx = PacketSender::open("va").expect("open sender");
        let e = tx.send(&[0u8; 13]).expect_err("short frame");
        assert_eq!(e.source.kind(), std::io::ErrorKind::InvalidInput);
        let good = frame::gratuitous_arp(VMAC4, VIP4);
        let e = tx
            .send_batch(&[&good, &[0u8; 5]])
            .expect_err("short frame in batch");
        assert_eq!((e.op, e.sent), ("sendmmsg", 0));
    });
}

#[test]
fn a_batch_of_255_adverts_arrives_complete_and_in_order() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let ns = NsPair::new();
    let src4 = Ipv4Addr::new(192, 0, 2, 1);
    let vrrp = vrrp_v3(&src4.octets(), &GROUP4.octets(), &VIP4.octets());
    let frames: Vec<Vec<u8>> = (0..255u16)
        .map(|id| {
            let h = AdvertV4 {
                src_mac: VMAC4,
                dst_mac: frame::multicast_mac_v4(GROUP4),
                src: src4,
                dst: GROUP4,
                id,
            };
            frame::advert_v4(&h, &vrrp).expect("advert")
        })
        .collect();
    let cap = capture_from(&ns.b, "vb", VMAC4, 255, Duration::from_secs(5));
    let to_send = frames.clone();
    let elapsed = in_netns(&ns.a, move || async move {
        let tx = PacketSender::open("va").expect("open sender");
        let refs: Vec<&[u8]> = to_send.iter().map(Vec::as_slice).collect();
        let t = std::time::Instant::now();
        tx.send_batch(&refs).expect("batch");
        t.elapsed()
    });
    let got = cap.join().expect("capture");
    eprintln!("sendmmsg of 255 adverts took {elapsed:?}");
    assert_eq!(got.len(), 255);
    assert!(got == frames, "frames differ or were reordered");
}
