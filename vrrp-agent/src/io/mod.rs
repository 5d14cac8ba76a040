//! Thin I/O shells with no protocol decisions: frame builders, the AF_PACKET sender, the raw
//! protocol-112 receiver, rtnetlink (links, addresses, events, unicast filter) and ARP sysctls.

pub mod frame;
pub mod netlink;
pub mod rx;
pub mod sysctl;
pub mod tx;
pub mod unicast;
