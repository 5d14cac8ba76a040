//! vrrp-agent: user space of the eBPF/XDP VRRP agent.

/// The compiled XDP object (built by build.rs from crate vrrp-ebpf).
pub static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/vrrp-ebpf"));

pub mod config;
pub mod control;
pub mod daemon;
pub mod health;
pub mod io;
pub mod lvs;
pub mod notify;
pub mod xdp;
