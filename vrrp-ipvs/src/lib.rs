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

pub mod client;
pub mod model;
pub mod msg;
pub mod plan;

pub use client::{Client, Error};
pub use model::*;
pub use plan::{Op, Report, Table, apply, owned_by_marker, plan, reconcile};
