//! The XDP program `vrrp_xdp`: the entry point, the only place that decides a verdict and the only
//! place that counts (once per frame). Parsing and rewriting live in `parse`, `arp`, `nd`, `vrrp`
//! and `csum`; every map is declared in `maps`.
//!
//! Order of decisions for one frame:
//! 1. Frame shorter than an Ethernet header: drop (`DropTruncated`).
//! 2. 802.1Q / 802.1ad tag: pass untouched (`PassVlan`). VLANs are not handled: run the agent on the
//!    VLAN device (generic XDP) instead.
//! 3. By ethertype:
//!    - ARP request for a VIP (map `VIPS_V4`): heartbeat stale -> drop (`ArpDroppedStale`); router
//!      not Master -> drop (RFC 5798 §6.4.2: Backup "MUST NOT respond to ARP requests for the IPv4
//!      address(es) associated with the virtual router"); Master -> reply in place from the
//!      virtual MAC, XDP_TX (§6.4.3, §7.3). ARP probes (spa 0.0.0.0, RFC 5227 §2.1.1) are answered
//!      like requests, as Linux answers them: a host probing for a VIP must learn it is taken.
//!      Replies, gratuitous ARP and other ARP formats pass.
//!    - IPv6 Neighbor Solicitation for a VIP (map `VIPS_V6`), validated per RFC 4861 §7.1.1
//!      (invalid ones dropped): DAD probes (source `::`) pass, the stack owns DAD (RFC 4862 §5.4.3);
//!      stale -> drop; not Master -> drop (§6.4.2); Master -> Neighbor Advertisement, XDP_TX. A
//!      solicitation behind extension headers (Hop-by-Hop, Routing, Destination Options; at most
//!      four) is treated like any other: the Master answers it (the NA carries no extension
//!      headers), a Backup drops it. ICMPv6 in a fragment passes (RFC 6980: the stack ignores
//!      fragmented ND).
//!    - VRRP (IPv4 protocol 112 / IPv6 next header 112, to 224.0.0.18, ff02::12 or unicast):
//!      screened (see `screen_vrrp`), good ones pass, bad ones drop, one counter per reason.
//!      Fragments drop. A good advert on a Backup that is the routine advert of the Master it
//!      follows (map `MASTERS`, written by the agent) is dropped instead (`VrrpAbsorbed`) and its
//!      time recorded: see "Advert absorption" in ARCHITECTURE.md. The IPv4 header checksum is not checked here: the stack's ip_rcv drops
//!      bad headers, and a good advert is only ever passed to it.
//! 4. Any frame the steps above would pass whose Ethernet destination is a virtual MAC of a
//!    router configured on this interface (RFC 5798 §7.3): Master with a fresh heartbeat ->
//!    destination rewritten to the interface MAC (`Settings.if_mac`), pass; otherwise drop
//!    (§6.4.2: a Backup "MUST NOT accept packets addressed to the IPvX address(es)" nor forward
//!    frames to the virtual MAC). VMACs of VRIDs not configured here pass untouched (another
//!    group's traffic, e.g. on a bridge port).
//!
//! Why both the rewrite and the unicast filter: a real NIC drops frames to a MAC that is not in
//! its unicast filter before XDP runs, so the agent adds each VMAC to the interface's filter
//! (`bridge fdb add VMAC dev IF self`, RTM_NEWNEIGH AF_BRIDGE). The stack then still sees a
//! destination that is not `dev_addr` and marks the skb PACKET_OTHERHOST, which IPv4/IPv6 drop;
//! rewriting the destination to the interface MAC makes it PACKET_HOST. (Without a filter entry the
//! NIC would have to be promiscuous.)
//!
//! Dead-man switch: the heartbeat (map `HEARTBEAT`) is read only where a role matters; stale means
//! every router behaves as Backup. Its clock is CLOCK_MONOTONIC_COARSE (`bpf_ktime_get_coarse_ns`).
//!
//! aya-log: not used at all. Nothing here is rare enough to log from the data plane; the counters
//! say what happened, and `SETTINGS_FLAG_LOG` is reserved (no log maps are declared).
#![no_std]
#![no_main]

mod arp;
mod csum;
mod maps;
mod nd;
mod parse;
mod vrrp;

use aya_ebpf::{
    bindings::xdp_action::{XDP_DROP, XDP_PASS, XDP_TX},
    helpers::{bpf_ktime_get_coarse_ns, bpf_ktime_get_ns},
    macros::xdp,
    programs::XdpContext,
};
use vrrp_common::{
    maps::{ROUTER_FLAG_V3_CSUM_AS_V2, Role, RouterState, Vip4Key, Vip6Key, router_index},
    proto::{
        ETH_P_8021AD, ETH_P_8021Q, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, Family, IPPROTO_ICMPV6,
        IPPROTO_VRRP, VRRP_TTL, parse_virtual_mac,
    },
    stats::Counter,
};

use crate::{
    maps::{COUNTERS, HEARTBEAT, MASTERS, ROUTERS, SETTINGS, VIPS_V4, VIPS_V6},
    parse::{ETH_HLEN, IP6_HLEN, IP6_OFF},
};

/// A verdict and the counter that explains it.
#[derive(Clone, Copy)]
struct Outcome {
    action: u32,
    counter: Counter,
}

#[inline(always)]
const fn pass(counter: Counter) -> Outcome {
    Outcome {
        action: XDP_PASS,
        counter,
    }
}

#[inline(always)]
const fn drop(counter: Counter) -> Outcome {
    Outcome {
        action: XDP_DROP,
        counter,
    }
}

#[inline(always)]
const fn tx(counter: Counter) -> Outcome {
    Outcome {
        action: XDP_TX,
        counter,
    }
}

/// ARP, ND, VRRP screening and virtual-MAC filtering for one interface.
#[xdp]
pub fn vrrp_xdp(ctx: XdpContext) -> u32 {
    let out = try_vrrp_xdp(&ctx);
    if let Some(slot) = COUNTERS.get_ptr_mut(out.counter as u32) {
        // SAFETY: a per-CPU slot; XDP does not preempt itself on one CPU.
        unsafe { *slot += 1 };
    }
    out.action
}

/// Baseline for benchmarks: does nothing but pass.
#[xdp]
pub fn xdp_pass(_ctx: XdpContext) -> u32 {
    XDP_PASS
}

#[inline(always)]
fn try_vrrp_xdp(ctx: &XdpContext) -> Outcome {
    let Some(ethertype) = parse::be16_at(ctx, parse::ETH_TYPE_OFF) else {
        return drop(Counter::DropTruncated);
    };
    let out = match ethertype {
        ETH_P_8021Q | ETH_P_8021AD => return pass(Counter::PassVlan),
        ETH_P_ARP => on_arp(ctx),
        ETH_P_IP => on_ipv4(ctx),
        ETH_P_IPV6 => on_ipv6(ctx),
        _ => pass(Counter::PassOther),
    };
    if out.action == XDP_PASS {
        virtual_mac_rule(ctx, out)
    } else {
        out
    }
}

/// Whether the agent's heartbeat is fresh now (never written = stale).
#[inline(always)]
fn heartbeat_fresh() -> bool {
    match HEARTBEAT.get(0) {
        // The coarse clock (CLOCK_MONOTONIC_COARSE, tick resolution) is a few ns to read where
        // bpf_ktime_get_ns reads the clocksource (~25 ns in a VM); the agent writes the same clock.
        // SAFETY: bpf_ktime_get_coarse_ns has no preconditions.
        Some(hb) => hb.is_fresh(unsafe { bpf_ktime_get_coarse_ns() }),
        None => false,
    }
}

#[inline(always)]
fn router(family: Family, vrid: u8) -> RouterState {
    match ROUTERS.get(router_index(family, vrid)) {
        Some(r) => *r,
        None => RouterState::default(),
    }
}

/// The common tail of ARP and ND for a VIP owned by `vrid`: stale, not Master, or answer.
#[inline(always)]
fn vip_role(family: Family, vrid: u8) -> Result<(), Counter> {
    let (stale, backup) = match family {
        Family::V4 => (Counter::ArpDroppedStale, Counter::ArpDroppedBackup),
        Family::V6 => (Counter::NdDroppedStale, Counter::NdDroppedBackup),
    };
    // A dead agent must not leave this node answering for a VIP another node has taken over.
    if !heartbeat_fresh() {
        return Err(stale);
    }
    // RFC 5798 §6.4.2: only the Master answers for the VIPs.
    if Role::from_u8(router(family, vrid).role) != Role::Master {
        return Err(backup);
    }
    Ok(())
}

#[inline(always)]
fn on_arp(ctx: &XdpContext) -> Outcome {
    match arp::classify(ctx) {
        arp::Arp::Truncated => drop(Counter::DropTruncated),
        arp::Arp::OtherFormat => pass(Counter::ArpPassOtherFormat),
        arp::Arp::NotRequest => pass(Counter::ArpPassNotRequest),
        arp::Arp::Request { tpa } => {
            // SAFETY: the value is copied out at once; the agent replaces values whole.
            let Some(vrid) = (unsafe { VIPS_V4.get(&Vip4Key { addr: tpa }) }).map(|v| v.vrid)
            else {
                return pass(Counter::ArpPassNotVip);
            };
            if let Err(c) = vip_role(Family::V4, vrid) {
                return drop(c);
            }
            match arp::reply_in_place(ctx, vrid) {
                Some(()) => tx(Counter::ArpReplied),
                None => drop(Counter::DropTruncated),
            }
        }
    }
}

#[inline(always)]
fn on_ipv6(ctx: &XdpContext) -> Outcome {
    if parse::ptr_at::<[u8; IP6_HLEN]>(ctx, IP6_OFF).is_none() {
        return drop(Counter::DropTruncated);
    }
    let upper = parse::ipv6_upper(ctx);
    match upper.status {
        parse::WALK_OK => {}
        parse::WALK_TRUNCATED => return drop(Counter::DropTruncated),
        _ => return pass(Counter::PassOther),
    }
    match upper.proto {
        IPPROTO_VRRP => on_vrrp6(ctx, &upper),
        // RFC 6980 §5: fragmented ND is ignored by the stack; other ICMPv6 may be fragmented.
        IPPROTO_ICMPV6 if !upper.fragment => on_icmp6(ctx, upper.off),
        _ => pass(Counter::PassOther),
    }
}

#[inline(always)]
fn on_icmp6(ctx: &XdpContext, off: usize) -> Outcome {
    let ns = match nd::classify(ctx, off) {
        nd::Icmp6::Truncated => return drop(Counter::DropTruncated),
        nd::Icmp6::NotSolicitation => return pass(Counter::NdPassNotVip),
        nd::Icmp6::Invalid => return drop(Counter::NdDroppedInvalid),
        nd::Icmp6::Solicitation(ns) => ns,
    };
    // SAFETY: the value is copied out at once; the agent replaces values whole.
    let Some(vrid) = (unsafe { VIPS_V6.get(&Vip6Key { addr: ns.target }) }).map(|v| v.vrid) else {
        return pass(Counter::NdPassNotVip);
    };
    // DAD (RFC 4862 §5.4.3): the stack decides about its own tentative addresses.
    if ns.src == [0u8; 16] {
        return pass(Counter::NdPassDad);
    }
    if let Err(c) = vip_role(Family::V6, vrid) {
        return drop(c);
    }
    match nd::advertise(ctx, &ns, vrid) {
        Some(()) => tx(Counter::NdReplied),
        None => pass(Counter::NdPassNoRoom),
    }
}

#[inline(always)]
fn on_ipv4(ctx: &XdpContext) -> Outcome {
    let Some(ip) = parse::read::<[u8; 20]>(ctx, ETH_HLEN) else {
        return drop(Counter::DropTruncated);
    };
    let ihl = ((ip[0] & 0x0f) as usize) * 4;
    // Not IPv4 or a malformed IHL: the stack's ip_rcv drops it.
    if ip[0] >> 4 != 4 || ihl < 20 || ip[9] != IPPROTO_VRRP {
        return pass(Counter::PassOther);
    }
    // RFC 791 §3.1: MF set or a fragment offset: part of a fragment.
    if u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
        return drop(Counter::VrrpDroppedFragment);
    }
    let total_len = u16::from_be_bytes([ip[2], ip[3]]) as usize;
    if total_len < ihl || parse::frame_len(ctx) < ETH_HLEN + total_len {
        return drop(Counter::DropTruncated);
    }
    // RFC 5798 §7.1 / RFC 3768 §7.1: "MUST verify that the IP TTL is 255".
    if ip[8] != VRRP_TTL {
        return drop(Counter::VrrpBadTtl);
    }
    let addr_sum = csum::sum_bytes(&[
        ip[12], ip[13], ip[14], ip[15], ip[16], ip[17], ip[18], ip[19],
    ]);
    let mut src = [0u8; 16];
    src[..4].copy_from_slice(&ip[12..16]);
    screen_vrrp(
        ctx,
        Family::V4,
        ETH_HLEN + ihl,
        total_len - ihl,
        addr_sum,
        &src,
    )
}

#[inline(always)]
fn on_vrrp6(ctx: &XdpContext, upper: &parse::Ipv6Upper) -> Outcome {
    if upper.fragment {
        return drop(Counter::VrrpDroppedFragment);
    }
    let Some(ip) = parse::read::<[u8; IP6_HLEN]>(ctx, IP6_OFF) else {
        return drop(Counter::DropTruncated);
    };
    let end = IP6_OFF + IP6_HLEN + u16::from_be_bytes([ip[4], ip[5]]) as usize;
    if parse::frame_len(ctx) < end || end < upper.off {
        return drop(Counter::DropTruncated);
    }
    // RFC 5798 §7.1: "MUST verify that the IPv6 Hop Limit is 255".
    if ip[7] != VRRP_TTL {
        return drop(Counter::VrrpBadTtl);
    }
    let mut addrs = [0u8; 32];
    addrs.copy_from_slice(&ip[8..40]);
    let mut src = [0u8; 16];
    src.copy_from_slice(&ip[8..24]);
    screen_vrrp(
        ctx,
        Family::V6,
        upper.off,
        end - upper.off,
        csum::sum_bytes(&addrs),
        &src,
    )
}

/// RFC 5798 §7.1 receive checks, cheapest first: version, type, VRID configured, version equal
/// to the router's, length against the count, checksum. `avail` is the IP payload length from
/// `off`; `addr_sum` the word sum of the IP source and destination (for the v3 pseudo-header);
/// `src` the IP source (IPv4 in the first 4 bytes), for advert absorption.
#[inline(always)]
fn screen_vrrp(
    ctx: &XdpContext,
    family: Family,
    off: usize,
    avail: usize,
    addr_sum: u32,
    src: &[u8; 16],
) -> Outcome {
    if avail < vrrp::VRRP_HLEN {
        return drop(Counter::VrrpBadLength);
    }
    let Some(h) = vrrp::header(ctx, off) else {
        return drop(Counter::DropTruncated);
    };
    // RFC 5798 §7.1: version 3 (2 accepted too, RFC 5798 §8.4 / RFC 3768); VRRPv2 is IPv4 only.
    if !(h.version == 3 || (h.version == 2 && family == Family::V4)) {
        return drop(Counter::VrrpBadVersion);
    }
    // RFC 5798 §5.2.2: "A packet with unknown type MUST be discarded".
    if h.kind != vrrp::VRRP_TYPE_ADVERT {
        return drop(Counter::VrrpBadType);
    }
    // RFC 5798 §7.1: "MUST verify that the VRID is configured on the receiving interface"; VRIDs
    // are per family (§1.1), so a VRID configured only for the other family is unknown here.
    let r = router(family, h.vrid);
    if Role::from_u8(r.role) == Role::Unconfigured {
        return drop(Counter::VrrpUnknownVrid);
    }
    if h.version != r.version {
        return drop(Counter::VrrpBadVersion);
    }
    let len = vrrp::message_len(h.version, family, h.count);
    if len > avail || len > csum::MAX_SUM_BYTES {
        return drop(Counter::VrrpBadLength);
    }
    let Some((sum, digest)) = vrrp::checksum_sums(ctx, off, len) else {
        return drop(Counter::DropTruncated);
    };
    // RFC 3768 §5.3.8: v2 sums the VRRP message only. RFC 5798 §5.2.8: v3 adds the pseudo-header.
    let ok = if h.version == 2 {
        csum::is_valid(sum)
    } else {
        csum::is_valid(sum + addr_sum + vrrp::pseudo_tail(len))
            || (r.flags & ROUTER_FLAG_V3_CSUM_AS_V2 != 0 && csum::is_valid(sum))
    };
    if !ok {
        return drop(Counter::VrrpBadChecksum);
    }
    if Role::from_u8(r.role) == Role::Backup && absorb(family, &h, src, digest) {
        return drop(Counter::VrrpAbsorbed);
    }
    pass(Counter::VrrpPassed)
}

/// Advert absorption (ARCHITECTURE.md): on a Backup, whether this valid advert is the routine
/// advert of the Master recorded in `MASTERS` (same source, version, non-zero priority, interval
/// and digest). If so its arrival time is recorded for the agent, which re-arms its
/// Master_Down_Timer from it (RFC 5798 §6.4.2), and the caller drops it. Anything else goes up.
#[inline(always)]
fn absorb(family: Family, h: &vrrp::Header, src: &[u8; 16], digest: u32) -> bool {
    let Some(rec) = MASTERS.get_ptr_mut(router_index(family, h.vrid)) else {
        return false;
    };
    // SAFETY: an array slot, valid for the program's run. The agent replaces the record whole;
    // this program only stores the two fields it owns.
    unsafe {
        if !(*rec).matches(src, h.version, h.priority, h.interval, digest) {
            return false;
        }
        // CLOCK_MONOTONIC, the agent's clock (not the coarse one: it is compared with the
        // instant of the last advert the agent processed, at sub-interval resolution).
        (*rec).last_seen_ns = bpf_ktime_get_ns();
        (*rec).absorbed += 1;
    }
    true
}

/// Step 4 of the module docs: frames to a virtual MAC of a router configured here.
#[inline(always)]
fn virtual_mac_rule(ctx: &XdpContext, out: Outcome) -> Outcome {
    let Some(p) = parse::ptr_at::<[u8; 6]>(ctx, 0) else {
        return out;
    };
    // SAFETY: `p` covers the 6-byte destination.
    let dst: [u8; 6] = unsafe { parse::get(p.cast::<u8>(), 0) };
    let Some((family, vrid)) = parse_virtual_mac(&dst) else {
        return out;
    };
    let role = Role::from_u8(router(family, vrid).role);
    if role == Role::Unconfigured {
        return out;
    }
    // RFC 5798 §6.4.2: a Backup (and a node whose agent is dead) does not take these frames.
    if role != Role::Master || !heartbeat_fresh() {
        return drop(Counter::VmacDroppedBackup);
    }
    let if_mac = match SETTINGS.get(0) {
        Some(s) => s.if_mac,
        None => [0; 6],
    };
    if if_mac != [0; 6] {
        // SAFETY: `p` covers the 6-byte destination.
        unsafe { parse::put(p.cast::<u8>(), 0, if_mac) };
    }
    pass(Counter::VmacMasterPassed)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}
