//! Shared test helpers: configs, advert builders, action draining, and the simulated LAN.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

pub mod sim;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vrrp_core::{
    Action, Centis, Input, Instant, ReceivedAdvert, RouterConfig, Version, VirtualRouter, Vrid,
};

/// 192.0.2.`last` (RFC 5737 documentation range).
pub fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

/// fe80::`last` (link-local, RFC 5798 §5.1.2.2 source).
pub fn v6_ll(last: u16) -> IpAddr {
    IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last))
}

/// The VIP used by every IPv4 test router.
pub fn vip() -> IpAddr {
    v4(100)
}

/// Time from microseconds.
pub fn at(us: u64) -> Instant {
    Instant::from_micros(us)
}

/// Centiseconds, panicking on a bad literal (test constants only).
pub fn cs(v: u16) -> Centis {
    Centis::new(v).expect("test interval literal is valid")
}

/// A v3 IPv4 config for VRID 51 with this priority and primary 192.0.2.`last`.
pub fn cfg(version: Version, priority: u8, last: u8) -> RouterConfig {
    let mut c = RouterConfig::new(Vrid::new(51).expect("vrid"), version, v4(last), vec![vip()]);
    c.priority = priority;
    c
}

/// A router from a config known to be valid.
pub fn router(c: RouterConfig) -> VirtualRouter {
    VirtualRouter::new(c).expect("test config is valid")
}

/// A started router with the actions of Startup drained.
pub fn started(c: RouterConfig, now: Instant) -> VirtualRouter {
    let mut r = router(c);
    r.handle_input(now, Input::Startup);
    drain(&mut r);
    r
}

/// Drains every queued action.
pub fn drain(r: &mut VirtualRouter) -> Vec<Action> {
    std::iter::from_fn(|| r.poll_action()).collect()
}

/// An advert from 192.0.2.`last` carrying our VIP.
pub fn advert(version: Version, last: u8, priority: u8, interval: Centis) -> Input {
    Input::Advert(ReceivedAdvert {
        src: v4(last),
        version,
        priority,
        max_adver_int: interval,
        addresses: vec![vip()],
    })
}
