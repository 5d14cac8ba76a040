//! IPv6 Neighbor Discovery (RFC 4861): validate a Neighbor Solicitation (§7.1.1) and turn the
//! frame into the Neighbor Advertisement the virtual router's Master sends for its VIP
//! (RFC 5798 §6.4.3, virtual MAC 00-00-5E-00-02-VRID per §7.3; NA contents per RFC 4861 §7.2.4).
//!
//! The advertisement is always written at fixed offsets and the frame resized to exactly
//! [`NA_FRAME_LEN`] bytes with `bpf_xdp_adjust_tail` (grown by 8 for an NS without a source
//! link-layer option, shrunk for one with extension headers or more options):
//! ```text
//!  0 eth dst = requester   6 eth src = VMAC   12 0x86dd
//! 14 ver/tc/flow 0x60000000  18 payload len 32  20 nh 58  21 hop limit 255
//! 22 src = VIP (the target)  38 dst = the solicitation's source
//! 54 type 136  55 code 0  56 checksum  58 flags R=0 S=1 O=1  59 reserved(3)
//! 62 target = VIP (16)  78 option type 2, len 1, VMAC (8)  -> 86 bytes
//! ```

use aya_ebpf::{helpers::bpf_xdp_adjust_tail, programs::XdpContext};
use vrrp_common::proto::{
    ETH_P_IPV6, Family, IPPROTO_ICMPV6, ND_NA_FLAG_OVERRIDE, ND_NA_FLAG_SOLICITED,
    ND_NEIGHBOR_ADVERT, ND_OPT_TARGET_LL_ADDR, virtual_mac,
};

use crate::{
    csum,
    parse::{self, ETH_HLEN, IP6_HLEN, IP6_OFF},
};

/// Length of the NA frame the Master sends: Ethernet + IPv6 + 24-byte NA + 8-byte TLLA option.
pub const NA_FRAME_LEN: usize = ETH_HLEN + IP6_HLEN + NA_ICMP_LEN;
const NA_ICMP_LEN: usize = 32;
/// Shortest valid NS ICMPv6 length (RFC 4861 §7.1.1: "ICMP length ... is 24 or more octets").
pub const NS_MIN_LEN: usize = 24;

/// A Neighbor Solicitation that passed RFC 4861 §7.1.1 checks.
pub struct Solicitation {
    /// The solicitation's IPv6 source (`::` for DAD).
    pub src: [u8; 16],
    /// The target address asked for.
    pub target: [u8; 16],
}

/// Result of looking at an ICMPv6 message.
pub enum Icmp6 {
    /// The frame ends before the bytes the headers announce.
    Truncated,
    /// Not a Neighbor Solicitation.
    NotSolicitation,
    /// A solicitation failing RFC 4861 §7.1.1 (hop limit, code, length, multicast target).
    Invalid,
    /// A valid solicitation.
    Solicitation(Solicitation),
}

/// Classifies the ICMPv6 message at `off` (after any extension headers).
#[inline(always)]
pub fn classify(ctx: &XdpContext, off: usize) -> Icmp6 {
    // Type, code and checksum together: every ICMPv6 message has them (RFC 4443 §2.1). (A 1-byte
    // read at a variable offset compiles to `p >= data_end`, which gives the verifier no range.)
    let Some(head) = parse::read::<[u8; 4]>(ctx, off) else {
        return Icmp6::Truncated;
    };
    if head[0] != vrrp_common::proto::ND_NEIGHBOR_SOLICIT {
        return Icmp6::NotSolicitation;
    }
    let Some(ip) = parse::read::<[u8; 8]>(ctx, IP6_OFF) else {
        return Icmp6::Truncated;
    };
    let payload_len = u16::from_be_bytes([ip[4], ip[5]]) as usize;
    let hop_limit = ip[7];
    let end = IP6_OFF + IP6_HLEN + payload_len;
    if parse::frame_len(ctx) < end {
        return Icmp6::Truncated;
    }
    // Extension headers longer than the payload length are malformed.
    if end < off + NS_MIN_LEN {
        return Icmp6::Invalid;
    }
    // RFC 4861 §7.1.1: hop limit 255 (not forwarded), code 0, ICMP length >= 24.
    if hop_limit != 255 || head[1] != 0 {
        return Icmp6::Invalid;
    }
    let (Some(target), Some(src)) = (
        parse::read::<[u8; 16]>(ctx, off + 8),
        parse::read::<[u8; 16]>(ctx, IP6_OFF + 8),
    ) else {
        return Icmp6::Truncated;
    };
    // RFC 4861 §7.1.1: "Target Address is not a multicast address".
    if target[0] == 0xff {
        return Icmp6::Invalid;
    }
    Icmp6::Solicitation(Solicitation { src, target })
}

/// ICMPv6 checksum of the NA this module writes (RFC 4443 §2.3 with the RFC 8200 §8.1
/// pseudo-header), computed from the fields rather than from packet memory.
#[inline(always)]
pub fn na_checksum(vip: &[u8; 16], dst: &[u8; 16], vmac: &[u8; 6]) -> u16 {
    let mut s = 2 * csum::sum_bytes(vip) + csum::sum_bytes(dst); // src and target are the VIP
    s += NA_ICMP_LEN as u32 + u32::from(IPPROTO_ICMPV6); // pseudo-header length, next header
    s += u32::from(ND_NEIGHBOR_ADVERT) << 8; // type, code 0
    s += u32::from(ND_NA_FLAG_SOLICITED | ND_NA_FLAG_OVERRIDE) << 8;
    s += (u32::from(ND_OPT_TARGET_LL_ADDR) << 8) | 1; // option type 2, length 1 (8 octets)
    s += csum::sum_bytes(vmac);
    csum::finish(s)
}

/// Resizes the frame and writes the Neighbor Advertisement for `ns` from virtual router `vrid`
/// (RFC 4861 §7.2.4: unicast to the solicitation's source, Solicited and Override set, target
/// link-layer option with the virtual MAC). `None` if the frame could not be resized; the frame is
/// then unchanged.
#[inline(always)]
pub fn advertise(ctx: &XdpContext, ns: &Solicitation, vrid: u8) -> Option<()> {
    let requester: [u8; 6] = parse::read(ctx, parse::ETH_SRC_OFF)?;
    let delta = NA_FRAME_LEN as i32 - parse::frame_len(ctx) as i32;
    if delta != 0 {
        // SAFETY: plain helper call on this program's own context.
        if unsafe { bpf_xdp_adjust_tail(ctx.ctx, delta) } != 0 {
            return None;
        }
    }
    let p = parse::ptr_at::<[u8; NA_FRAME_LEN]>(ctx, 0)?.cast::<u8>();
    let vmac = virtual_mac(Family::V6, vrid);
    let csum = na_checksum(&ns.target, &ns.src, &vmac);
    let icmp = ETH_HLEN + IP6_HLEN;
    // SAFETY: `p` covers all NA_FRAME_LEN bytes written below.
    unsafe {
        parse::put(p, 0, requester);
        parse::put(p, parse::ETH_SRC_OFF, vmac);
        parse::put(p, parse::ETH_TYPE_OFF, ETH_P_IPV6.to_be_bytes());
        parse::put(p, IP6_OFF, [0x60, 0, 0, 0]);
        parse::put(p, IP6_OFF + 4, [0, NA_ICMP_LEN as u8, IPPROTO_ICMPV6, 255]);
        parse::put(p, IP6_OFF + 8, ns.target);
        parse::put(p, IP6_OFF + 24, ns.src);
        let c = csum.to_be_bytes();
        parse::put(p, icmp, [ND_NEIGHBOR_ADVERT, 0, c[0], c[1]]);
        parse::put(
            p,
            icmp + 4,
            [ND_NA_FLAG_SOLICITED | ND_NA_FLAG_OVERRIDE, 0, 0, 0],
        );
        parse::put(p, icmp + 8, ns.target);
        parse::put(p, icmp + 24, [ND_OPT_TARGET_LL_ADDR, 1]);
        parse::put(p, icmp + 26, vmac);
    }
    Some(())
}
