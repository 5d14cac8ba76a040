//! Byte-by-byte builders of the Ethernet frames the agent sends: VRRP adverts over IPv4 and IPv6,
//! gratuitous ARP and unsolicited Neighbor Advertisements. Pure functions, no I/O.
//!
//! The VRRP message itself is opaque here (`&[u8]`, built by the wire codec); these functions only
//! wrap it. Every frame is padded to the Ethernet minimum of 60 bytes (without FCS): AF_PACKET hands
//! the frame to the driver as is, and not every driver pads runts.

use std::net::{Ipv4Addr, Ipv6Addr};

use vrrp_common::proto::{
    ARPHRD_ETHER, ARPOP_REQUEST, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, IPPROTO_ICMPV6, IPPROTO_VRRP,
    ND_NA_FLAG_OVERRIDE, ND_NA_FLAG_ROUTER, ND_NEIGHBOR_ADVERT, ND_OPT_TARGET_LL_ADDR, VRRP_TOS,
    VRRP_TTL,
};

/// An Ethernet (EUI-48) address.
pub type Mac = [u8; 6];

/// The Ethernet broadcast address.
pub const BROADCAST_MAC: Mac = [0xff; 6];
/// Length of the Ethernet header (no VLAN tag).
pub const ETH_HLEN: usize = 14;
/// Minimum Ethernet frame length without FCS; shorter frames are zero-padded.
pub const ETH_ZLEN: usize = 60;
/// Length of an IPv4 header without options.
pub const IPV4_HLEN: usize = 20;
/// Length of the fixed IPv6 header.
pub const IPV6_HLEN: usize = 40;
/// The all-nodes multicast address ff02::1 (RFC 4291 §2.7.1), destination of unsolicited NAs.
pub const ALL_NODES_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

/// Why a frame could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The payload does not fit the 16-bit length field of the IP header.
    #[error("payload of {len} bytes does not fit an IP packet (max {max})")]
    PayloadTooLong {
        /// Length of the payload given.
        len: usize,
        /// Largest payload the header can describe.
        max: usize,
    },
}

/// The Ethernet multicast address of an IPv4 group: 01:00:5e + the low 23 bits (RFC 1112 §6.4).
/// For 224.0.0.18 this is 01:00:5e:00:00:12.
pub fn multicast_mac_v4(group: Ipv4Addr) -> Mac {
    let o = group.octets();
    [0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]]
}

/// The Ethernet multicast address of an IPv6 group: 33:33 + the low 32 bits (RFC 2464 §7).
/// For ff02::12 this is 33:33:00:00:00:12.
pub fn multicast_mac_v6(group: Ipv6Addr) -> Mac {
    let o = group.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// Fields of the Ethernet and IPv4 headers around a VRRP advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvertV4 {
    /// Ethernet source: the virtual router MAC 00:00:5e:00:01:VRID (RFC 5798 §7.3; RFC 3768 §7.3
    /// for v2).
    pub src_mac: Mac,
    /// Ethernet destination: [`multicast_mac_v4`] of `dst`, or a unicast peer's MAC.
    pub dst_mac: Mac,
    /// The primary IPv4 address of the interface (RFC 5798 §5.1.1.1).
    pub src: Ipv4Addr,
    /// 224.0.0.18 (RFC 5798 §5.1.1.2), or a unicast peer.
    pub dst: Ipv4Addr,
    /// IPv4 identification; the caller increments it per packet as keepalived does.
    pub id: u16,
}

/// Fields of the Ethernet and IPv6 headers around a VRRP advert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvertV6 {
    /// Ethernet source: the virtual router MAC 00:00:5e:00:02:VRID (RFC 5798 §7.3).
    pub src_mac: Mac,
    /// Ethernet destination: [`multicast_mac_v6`] of `dst`, or a unicast peer's MAC.
    pub dst_mac: Mac,
    /// The link-local address of the interface (RFC 5798 §5.1.2.1).
    pub src: Ipv6Addr,
    /// ff02::12 (RFC 5798 §5.1.2.2), or a unicast peer.
    pub dst: Ipv6Addr,
}

/// The Internet checksum (RFC 1071) of `bytes`, ready for the checksum field. Over a header
/// whose checksum field holds the right value it returns 0.
pub fn internet_checksum(bytes: &[u8]) -> u16 {
    vrrp_common::checksum::checksum(bytes)
}

fn push_eth(buf: &mut Vec<u8>, dst: Mac, src: Mac, ethertype: u16) {
    buf.extend_from_slice(&dst);
    buf.extend_from_slice(&src);
    buf.extend_from_slice(&ethertype.to_be_bytes());
}

fn pad(mut buf: Vec<u8>) -> Vec<u8> {
    if buf.len() < ETH_ZLEN {
        buf.resize(ETH_ZLEN, 0);
    }
    buf
}

/// Builds a VRRP advert over IPv4: Ethernet + IPv4 header (no options) + `vrrp`.
///
/// Header choices, per RFC 5798 §5.1.1: TTL 255 (§5.1.1.3), protocol 112 (§5.1.1.4), TOS 0xc0
/// (Internetwork Control, as keepalived and FRR send), DF clear and the caller's identification —
/// keepalived's choice (interop.md golden frames: id 1, 2, ... and flags 0), so our frames are
/// byte-identical to keepalived's for the same message. An advert is far below any MTU, so DF
/// would change nothing on the wire except the bytes.
pub fn advert_v4(h: &AdvertV4, vrrp: &[u8]) -> Result<Vec<u8>, FrameError> {
    let max = usize::from(u16::MAX) - IPV4_HLEN;
    if vrrp.len() > max {
        return Err(FrameError::PayloadTooLong {
            len: vrrp.len(),
            max,
        });
    }
    // Checked above: fits in u16.
    let total = (IPV4_HLEN + vrrp.len()) as u16;
    let mut buf = Vec::with_capacity(ETH_HLEN + IPV4_HLEN + vrrp.len());
    push_eth(&mut buf, h.dst_mac, h.src_mac, ETH_P_IP);
    let mut ip = [0u8; IPV4_HLEN];
    ip[0] = 0x45; // version 4, IHL 5
    ip[1] = VRRP_TOS;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&h.id.to_be_bytes());
    // ip[6..8]: flags and fragment offset 0 (no DF, see above).
    ip[8] = VRRP_TTL;
    ip[9] = IPPROTO_VRRP;
    ip[12..16].copy_from_slice(&h.src.octets());
    ip[16..20].copy_from_slice(&h.dst.octets());
    let csum = internet_checksum(&ip);
    ip[10..12].copy_from_slice(&csum.to_be_bytes());
    buf.extend_from_slice(&ip);
    buf.extend_from_slice(vrrp);
    Ok(pad(buf))
}

/// Builds a VRRP advert over IPv6: Ethernet + IPv6 header + `vrrp`.
///
/// RFC 5798 §5.1.2: hop limit 255 (§5.1.2.3), next header 112 (§5.1.2.4); traffic class 0xc0 as
/// keepalived sends. The flow label is 0 (keepalived's kernel-chosen label is random; RFC 6437
/// allows 0).
pub fn advert_v6(h: &AdvertV6, vrrp: &[u8]) -> Result<Vec<u8>, FrameError> {
    let max = usize::from(u16::MAX);
    if vrrp.len() > max {
        return Err(FrameError::PayloadTooLong {
            len: vrrp.len(),
            max,
        });
    }
    let mut buf = Vec::with_capacity(ETH_HLEN + IPV6_HLEN + vrrp.len());
    push_eth(&mut buf, h.dst_mac, h.src_mac, ETH_P_IPV6);
    // Checked above: fits in u16.
    push_ipv6(
        &mut buf,
        VRRP_TOS,
        vrrp.len() as u16,
        IPPROTO_VRRP,
        h.src,
        h.dst,
    );
    buf.extend_from_slice(vrrp);
    Ok(pad(buf))
}

/// Appends an IPv6 header: version 6, the given traffic class, flow label 0, hop limit 255.
fn push_ipv6(
    buf: &mut Vec<u8>,
    tclass: u8,
    payload_len: u16,
    next: u8,
    src: Ipv6Addr,
    dst: Ipv6Addr,
) {
    buf.push(0x60 | (tclass >> 4));
    buf.push((tclass & 0x0f) << 4);
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&payload_len.to_be_bytes());
    buf.push(next);
    buf.push(VRRP_TTL);
    buf.extend_from_slice(&src.octets());
    buf.extend_from_slice(&dst.octets());
}

/// Builds a gratuitous ARP for a virtual IPv4 address, sent by the new Master.
///
/// RFC 5798 §6.4.1 (and §6.4.2 on preemption) says "broadcast a gratuitous ARP *request*
/// containing the virtual router MAC address for each IP address": so opcode 1 (request), Ethernet
/// broadcast, Ethernet source and sender hardware address = the virtual MAC, sender and target
/// protocol address = the VIP. The target hardware address is zero, as RFC 5227 §2.3 prescribes
/// for an ARP Announcement ("ignored and SHOULD be set to all zeroes"). A request rather than a
/// reply: every ARP implementation updates an existing cache entry from a request's sender fields
/// (RFC 826, "Packet reception"), while some ignore unsolicited replies.
pub fn gratuitous_arp(vmac: Mac, vip: Ipv4Addr) -> Vec<u8> {
    let mut buf = Vec::with_capacity(ETH_ZLEN);
    push_eth(&mut buf, BROADCAST_MAC, vmac, ETH_P_ARP);
    buf.extend_from_slice(&ARPHRD_ETHER.to_be_bytes());
    buf.extend_from_slice(&ETH_P_IP.to_be_bytes());
    buf.push(6); // hardware address length
    buf.push(4); // protocol address length
    buf.extend_from_slice(&ARPOP_REQUEST.to_be_bytes());
    buf.extend_from_slice(&vmac); // sha
    buf.extend_from_slice(&vip.octets()); // spa
    buf.extend_from_slice(&[0; 6]); // tha
    buf.extend_from_slice(&vip.octets()); // tpa
    pad(buf)
}

/// Length of an NA with one Target Link-Layer Address option: ICMPv6 header 4, reserved/flags 4,
/// target 16, option 8 (RFC 4861 §4.4, §4.6.1).
const NA_LEN: usize = 32;

/// Builds an unsolicited Neighbor Advertisement for a virtual IPv6 address.
///
/// RFC 5798 §6.4.1: "send an Unsolicited ND Neighbor Advertisement with the Router Flag (R) set,
/// the Solicited Flag (S) unset, the Override flag (O) set, the target address set to the IPv6
/// address of the virtual router, and the target link-layer address set to the virtual router MAC
/// address". RFC 4861 §7.2.6: destination all-nodes ff02::1 (Ethernet 33:33:00:00:00:01), hop
/// limit 255 (§7.1.2 checks it). `src` must be an address assigned to the interface (RFC 4861
/// §4.4): the Linux kernel uses the target itself when it is assigned, which it is once the Master
/// has added the VIP; the caller may pass the interface's link-local address instead. Ethernet
/// source is the virtual MAC (RFC 5798 §7.3, and §8.2.2 for the solicited case). The ICMPv6
/// checksum covers the pseudo-header (RFC 4443 §2.3, RFC 8200 §8.1).
pub fn unsolicited_na(vmac: Mac, src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let mut icmp = [0u8; NA_LEN];
    icmp[0] = ND_NEIGHBOR_ADVERT;
    // icmp[1]: code 0; icmp[2..4]: checksum, filled below.
    icmp[4] = ND_NA_FLAG_ROUTER | ND_NA_FLAG_OVERRIDE;
    icmp[8..24].copy_from_slice(&target.octets());
    icmp[24] = ND_OPT_TARGET_LL_ADDR;
    icmp[25] = 1; // option length in units of 8 bytes
    icmp[26..32].copy_from_slice(&vmac);
    let csum = icmpv6_checksum(src, ALL_NODES_V6, &icmp);
    icmp[2..4].copy_from_slice(&csum.to_be_bytes());

    let mut buf = Vec::with_capacity(ETH_HLEN + IPV6_HLEN + NA_LEN);
    push_eth(&mut buf, multicast_mac_v6(ALL_NODES_V6), vmac, ETH_P_IPV6);
    // Traffic class 0 like the kernel's own ND messages; hop limit 255 (RFC 4861 §7.1.2).
    // NA_LEN is a small constant.
    push_ipv6(
        &mut buf,
        0,
        NA_LEN as u16,
        IPPROTO_ICMPV6,
        src,
        ALL_NODES_V6,
    );
    buf.extend_from_slice(&icmp);
    pad(buf)
}

/// ICMPv6 checksum of `msg` (checksum field zero) with the IPv6 pseudo-header (RFC 8200 §8.1).
pub fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, msg: &[u8]) -> u16 {
    // Upper-layer length as 32 bits; messages here are far below 4 GiB.
    vrrp_common::checksum::pseudo_header_v6(
        &src.octets(),
        &dst.octets(),
        IPPROTO_ICMPV6,
        msg.len() as u32,
    )
    .add_bytes(msg)
    .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
            .collect()
    }

    const VMAC4_51: Mac = [0, 0, 0x5e, 0, 1, 51];
    const VMAC6_51: Mac = [0, 0, 0x5e, 0, 2, 51];

    #[test]
    fn multicast_macs_of_vrrp_groups() {
        assert_eq!(
            multicast_mac_v4(Ipv4Addr::new(224, 0, 0, 18)),
            [1, 0, 0x5e, 0, 0, 0x12]
        );
        // The 24th bit is not mapped (RFC 1112 §6.4).
        assert_eq!(
            multicast_mac_v4(Ipv4Addr::new(239, 129, 2, 3)),
            [1, 0, 0x5e, 1, 2, 3]
        );
        assert_eq!(
            multicast_mac_v6("ff02::12".parse().expect("literal")),
            [0x33, 0x33, 0, 0, 0, 0x12]
        );
    }

    #[test]
    fn v3_advert_over_ipv4_matches_keepalived_golden_frame() {
        // interop.md: keepalived v3, VRID 51, prio 150, VIP 10.99.0.100 from 10.99.0.11.
        // Byte data only: never sent.
        let golden_ip =
            hex("45c0 0020 0001 0000 ff70 d02c 0a63 000b e000 0012 3133 9601 0064 42a3 0a63 0064");
        let h = AdvertV4 {
            src_mac: VMAC4_51,
            dst_mac: multicast_mac_v4(Ipv4Addr::new(224, 0, 0, 18)),
            src: Ipv4Addr::new(10, 99, 0, 11),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            id: 1,
        };
        let frame = advert_v4(&h, &golden_ip[20..]).expect("small payload");
        assert_eq!(frame.len(), ETH_ZLEN);
        assert_eq!(&frame[..14], &hex("01005e000012 00005e000133 0800")[..]);
        assert_eq!(&frame[14..46], &golden_ip[..]);
        assert_eq!(&frame[46..], &[0u8; 14][..]);
        assert_eq!(internet_checksum(&frame[14..34]), 0);
    }

    #[test]
    fn v2_advert_over_ipv4_matches_keepalived_golden_frame() {
        let golden_ip = hex(
            "45c0 0028 0001 0000 ff70 d024 0a63 000b e000 0012 2133 9601 0001 3e03 0a63 0064
             0000 0000 0000 0000",
        );
        let h = AdvertV4 {
            src_mac: VMAC4_51,
            dst_mac: multicast_mac_v4(Ipv4Addr::new(224, 0, 0, 18)),
            src: Ipv4Addr::new(10, 99, 0, 11),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            id: 1,
        };
        let frame = advert_v4(&h, &golden_ip[20..]).expect("small payload");
        assert_eq!(&frame[14..54], &golden_ip[..]);
        assert_eq!(frame.len(), ETH_ZLEN);
    }

    #[test]
    fn v3_advert_over_ipv4_with_other_id_has_recomputed_header_checksum() {
        // FRR's golden frame differs by id 0x0459, DF and source .13: same header apart from
        // DF must give d02c-adjusted checksum; check against a hand sum instead.
        let h = AdvertV4 {
            src_mac: VMAC4_51,
            dst_mac: [1, 0, 0x5e, 0, 0, 0x12],
            src: Ipv4Addr::new(10, 99, 0, 13),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            id: 0x0459,
        };
        let frame = advert_v4(&h, &hex("3133 9601 0064 42a1 0a63 0064")).expect("small payload");
        // FRR's header with DF (0x4000) has checksum 0x8bd2; without DF it is 0x8bd2 + 0x4000.
        assert_eq!(&frame[24..26], &[0xcb, 0xd2]);
        assert_eq!(&frame[20..22], &[0x00, 0x00]);
        assert_eq!(&frame[18..20], &[0x04, 0x59]);
    }

    #[test]
    fn v3_advert_over_ipv6_matches_keepalived_golden_except_flow_label() {
        let golden_ip = hex(
            "6c08 1f98 0028 70ff fe80 0000 0000 0000 0000 00ff fe99 0011 ff02 0000 0000 0000
             0000 0000 0000 0012 3133 9602 0064 0c69 fe80 0000 0000 0000 0000 0000 0001 0051
             2001 0db8 0099 0000 0000 0000 0000 0100",
        );
        let h = AdvertV6 {
            src_mac: VMAC6_51,
            dst_mac: multicast_mac_v6("ff02::12".parse().expect("literal")),
            src: "fe80::ff:fe99:11".parse().expect("literal"),
            dst: "ff02::12".parse().expect("literal"),
        };
        let frame = advert_v6(&h, &golden_ip[40..]).expect("small payload");
        assert_eq!(frame.len(), 14 + 40 + 40);
        assert_eq!(&frame[..14], &hex("333300000012 00005e000233 86dd")[..]);
        // Version 6, traffic class 0xc0, flow label 0 (keepalived's kernel picked 0x81f98).
        assert_eq!(&frame[14..18], &[0x6c, 0x00, 0x00, 0x00]);
        assert_eq!(&frame[18..], &golden_ip[4..]);
    }

    #[test]
    fn gratuitous_arp_is_a_broadcast_request_from_the_virtual_mac() {
        let frame = gratuitous_arp(VMAC4_51, Ipv4Addr::new(192, 0, 2, 100));
        let want = hex("ffffffffffff 00005e000133 0806
             0001 0800 06 04 0001 00005e000133 c0000264 000000000000 c0000264");
        assert_eq!(&frame[..42], &want[..]);
        assert_eq!(frame.len(), ETH_ZLEN);
        assert!(frame[42..].iter().all(|b| *b == 0));
    }

    #[test]
    fn unsolicited_na_has_router_and_override_flags_and_vmac_option() {
        let vip: Ipv6Addr = "2001:db8::100".parse().expect("literal");
        let frame = unsolicited_na(VMAC6_51, vip, vip);
        // Expected bytes (checksum 0x18fa) produced independently by scapy 2.5:
        // IPv6(hlim=255)/ICMPv6ND_NA(R=1, S=0, O=1)/ICMPv6NDOptDstLLAddr.
        let want = hex("333300000001 00005e000233 86dd
             6000 0000 0020 3aff 2001 0db8 0000 0000 0000 0000 0000 0100
             ff02 0000 0000 0000 0000 0000 0000 0001
             8800 18fa a000 0000 2001 0db8 0000 0000 0000 0000 0000 0100
             0201 0000 5e00 0233");
        assert_eq!(frame, want);
        let icmp = &frame[54..];
        assert_eq!(icmpv6_checksum(vip, ALL_NODES_V6, icmp), 0);
    }

    #[test]
    fn oversized_payload_is_an_error_not_a_panic() {
        let h = AdvertV4 {
            src_mac: VMAC4_51,
            dst_mac: BROADCAST_MAC,
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            id: 0,
        };
        let big = vec![0u8; 65_516];
        assert_eq!(
            advert_v4(&h, &big),
            Err(FrameError::PayloadTooLong {
                len: 65_516,
                max: 65_515
            })
        );
        assert!(advert_v4(&h, &big[..65_515]).is_ok());
    }
}
