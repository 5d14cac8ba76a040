//! Protocol constants of VRRP (RFC 5798 §5.1, §7.3, RFC 3768 §5.2) and the Ethernet, ARP and ND
//! numbers the data plane needs.

/// IP protocol number of VRRP (RFC 5798 §5.1.1.4, §5.1.2.4).
pub const IPPROTO_VRRP: u8 = 112;
/// The VRRP IPv4 multicast group 224.0.0.18 (RFC 5798 §5.1.1.2).
pub const VRRP_GROUP_V4: [u8; 4] = [224, 0, 0, 18];
/// The VRRP IPv6 multicast group ff02::12 (RFC 5798 §5.1.2.2).
pub const VRRP_GROUP_V6: [u8; 16] = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x12];
/// TTL / hop limit every VRRP advert is sent with and must arrive with (RFC 5798 §5.1.1.3, §7.1).
pub const VRRP_TTL: u8 = 255;
/// TOS / traffic class of adverts: Internetwork Control (keepalived, FRR; DSCP CS6).
pub const VRRP_TOS: u8 = 0xc0;

/// Ethertypes.
pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_ARP: u16 = 0x0806;
pub const ETH_P_IPV6: u16 = 0x86dd;
pub const ETH_P_8021Q: u16 = 0x8100;
pub const ETH_P_8021AD: u16 = 0x88a8;

/// ARP (RFC 826) numbers for Ethernet/IPv4.
pub const ARPHRD_ETHER: u16 = 1;
pub const ARPOP_REQUEST: u16 = 1;
pub const ARPOP_REPLY: u16 = 2;

/// ICMPv6 types of Neighbor Discovery (RFC 4861 §4.3, §4.4) and its options (§4.6.1).
pub const IPPROTO_ICMPV6: u8 = 58;
pub const ND_NEIGHBOR_SOLICIT: u8 = 135;
pub const ND_NEIGHBOR_ADVERT: u8 = 136;
pub const ND_OPT_SOURCE_LL_ADDR: u8 = 1;
pub const ND_OPT_TARGET_LL_ADDR: u8 = 2;
/// Neighbor Advertisement flags (RFC 4861 §4.4), in the first byte of the reserved word.
pub const ND_NA_FLAG_ROUTER: u8 = 0x80;
pub const ND_NA_FLAG_SOLICITED: u8 = 0x40;
pub const ND_NA_FLAG_OVERRIDE: u8 = 0x20;

/// Address family of a virtual router: VRRP runs one instance per family (RFC 5798 §1.1).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    V4 = 0,
    V6 = 1,
}

/// The virtual router MAC address (RFC 5798 §7.3): 00-00-5E-00-01-{VRID} for IPv4,
/// 00-00-5E-00-02-{VRID} for IPv6.
#[inline(always)]
pub const fn virtual_mac(family: Family, vrid: u8) -> [u8; 6] {
    let f = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, f, vrid]
}

/// Which virtual router a destination MAC names, if it is a VRRP virtual MAC (RFC 5798 §7.3).
#[inline(always)]
pub fn parse_virtual_mac(mac: &[u8; 6]) -> Option<(Family, u8)> {
    if mac[0] != 0 || mac[1] != 0 || mac[2] != 0x5e || mac[3] != 0 {
        return None;
    }
    match mac[4] {
        0x01 => Some((Family::V4, mac[5])),
        0x02 => Some((Family::V6, mac[5])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_mac_follows_rfc5798_section_7_3() {
        assert_eq!(virtual_mac(Family::V4, 51), [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(virtual_mac(Family::V6, 255), [0, 0, 0x5e, 0, 2, 255]);
        assert_eq!(
            parse_virtual_mac(&[0, 0, 0x5e, 0, 1, 7]),
            Some((Family::V4, 7))
        );
        assert_eq!(
            parse_virtual_mac(&[0, 0, 0x5e, 0, 2, 7]),
            Some((Family::V6, 7))
        );
        assert_eq!(parse_virtual_mac(&[0, 0, 0x5e, 0, 3, 7]), None);
        assert_eq!(parse_virtual_mac(&[2, 0, 0x5e, 0, 1, 7]), None);
    }
}
