//! ARP (RFC 826) for Ethernet/IPv4: classify a frame and rewrite a request in place into the reply
//! the virtual router's Master sends (RFC 5798 §6.4.3: "MUST respond to ARP requests for the IPv4
//! address(es) associated with the virtual router" with the virtual MAC, §7.3).
//!
//! Layout after the Ethernet header (offsets from the frame start):
//! ```text
//! 14 hrd(2) 16 pro(2) 18 hln(1) 19 pln(1) 20 op(2)
//! 22 sha(6) 28 spa(4) 32 tha(6) 38 tpa(4)   -> 42 bytes
//! ```

use aya_ebpf::programs::XdpContext;
use vrrp_common::proto::{ARPHRD_ETHER, ARPOP_REPLY, ARPOP_REQUEST, ETH_P_IP, Family, virtual_mac};

use crate::parse::{self, ETH_HLEN};

/// Bytes of an Ethernet/IPv4 ARP packet.
pub const ARP_LEN: usize = 28;
const OP: usize = ETH_HLEN + 6;
const SHA: usize = ETH_HLEN + 8;
const SPA: usize = ETH_HLEN + 14;
const THA: usize = ETH_HLEN + 18;
const TPA: usize = ETH_HLEN + 24;

/// What an ARP frame is, as far as the data plane cares.
pub enum Arp {
    /// Shorter than the fixed part (8 bytes), or than 28 bytes once the format says Ethernet/IPv4.
    Truncated,
    /// Not Ethernet/IPv4 (hrd 1, pro 0x0800, hln 6, pln 4; RFC 826 "Packet format").
    OtherFormat,
    /// A reply, another opcode, or a gratuitous ARP (spa == tpa): the stack's business.
    NotRequest,
    /// A request (op 1) for `tpa`; probes (spa 0.0.0.0, RFC 5227 §2.1.1) included.
    Request { tpa: [u8; 4] },
}

/// Classifies the ARP packet after the Ethernet header.
#[inline(always)]
pub fn classify(ctx: &XdpContext) -> Arp {
    let Some(fixed) = parse::read::<[u8; 8]>(ctx, ETH_HLEN) else {
        return Arp::Truncated;
    };
    let hrd = u16::from_be_bytes([fixed[0], fixed[1]]);
    let pro = u16::from_be_bytes([fixed[2], fixed[3]]);
    if hrd != ARPHRD_ETHER || pro != ETH_P_IP || fixed[4] != 6 || fixed[5] != 4 {
        return Arp::OtherFormat;
    }
    let Some(addrs) = parse::read::<[u8; 20]>(ctx, SHA) else {
        return Arp::Truncated;
    };
    let op = u16::from_be_bytes([fixed[6], fixed[7]]);
    let spa = [addrs[6], addrs[7], addrs[8], addrs[9]];
    let tpa = [addrs[16], addrs[17], addrs[18], addrs[19]];
    // Gratuitous ARP announces spa == tpa: nothing to answer (RFC 5227 §3 "ARP Announcement").
    if op != ARPOP_REQUEST || spa == tpa {
        return Arp::NotRequest;
    }
    Arp::Request { tpa }
}

/// Rewrites the request in place into the reply from virtual router `vrid` (RFC 826 "swap
/// fields"): Ethernet dst = requester (sha), Ethernet src = VMAC, op = reply, tha/tpa = the
/// requester's sha/spa, sha = VMAC, spa = the VIP asked for. A probe (spa 0.0.0.0) gets
/// tpa 0.0.0.0, as Linux answers it. `None` only if the frame is shorter than a checked ARP packet.
#[inline(always)]
pub fn reply_in_place(ctx: &XdpContext, vrid: u8) -> Option<()> {
    let p = parse::ptr_at::<[u8; ETH_HLEN + ARP_LEN]>(ctx, 0)?.cast::<u8>();
    let vmac = virtual_mac(Family::V4, vrid);
    // SAFETY: `p` covers the Ethernet header and the whole 28-byte ARP packet.
    unsafe {
        let sha: [u8; 6] = parse::get(p, SHA);
        let spa: [u8; 4] = parse::get(p, SPA);
        let tpa: [u8; 4] = parse::get(p, TPA);
        parse::put(p, 0, sha);
        parse::put(p, parse::ETH_SRC_OFF, vmac);
        parse::put(p, OP, ARPOP_REPLY.to_be_bytes());
        parse::put(p, SHA, vmac);
        parse::put(p, SPA, tpa);
        parse::put(p, THA, sha);
        parse::put(p, TPA, spa);
    }
    Some(())
}
