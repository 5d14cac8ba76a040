//! IPVS (Linux Virtual Server) over generic netlink: typed model, wire codec, blocking client,
//! and a pure planner that turns (desired, current, owned) into the minimal list of operations.
//!
//! ```no_run
//! use vrrp_ipvs::{Client, Dest, Forwarding, Proto, Service, ServiceKey, plan};
//! let key = ServiceKey::Proto { proto: Proto::Tcp, addr: "198.51.100.1".parse()?, port: 80 };
//! let desired = vec![(Service::new(key, "wrr"), vec![Dest::new("192.0.2.10".parse()?, 80, Forwarding::Masq)])];
//! let mut client = Client::new()?;
//! let report = plan::reconcile(&mut client, &desired, &Default::default())?;
//! for (op, err) in &report.failures { eprintln!("{err}"); let _ = op; }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Kernel facts that shape the API (measured on Linux 6.1 in the test guest):
//! - IPVS tables are per network namespace; the client talks to the namespace of the thread that
//!   opened it.
//! - An IPv4 destination is refused (EINVAL) while the namespace has no local FIB table (no
//!   address at all, not even lo up): ip_vs_new_dest wants RTN_UNICAST or RTN_LOCAL.
//! - Adding destinations costs the kernel O(n) per add (list lookup; wrr also recomputes gcd and
//!   max weight over all dests), so filling one service with 10,000 dests is quadratic in the
//!   kernel whatever user space does; a one-dest change is cheap (see bench-ipvs).
//! - Counters reach user space through the 2-second rate estimator: fresh traffic shows up late.
//!
//! Tests: `cargo test -p vrrp-ipvs` (unit + proptest, host); `tests/kernel.rs` needs a kernel
//! with ip_vs (ignored on the host; run in the guest with `--include-ignored`).

pub mod client;
pub mod model;
pub mod msg;
pub mod plan;

pub use client::{Client, Error};
pub use model::*;
pub use plan::{Op, Report, Table, apply, owned_by_marker, plan, reconcile};
