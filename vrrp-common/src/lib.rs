//! The only contract between the XDP program and user space: constants, map layouts, counters and
//! the VRRP wire format. `no_std`, no allocation, so both sides compile the same definitions.
#![no_std]

pub mod checksum;
pub mod maps;
pub mod packet;
pub mod proto;
pub mod stats;
