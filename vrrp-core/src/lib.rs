//! Sans-IO VRRP election state machine (RFC 5798 §6, RFC 3768 §6): no sockets, no clock reads.
//!
//! One [`VirtualRouter`] per (interface, VRID, address family). The caller pushes
//! [`Input`]s and timeouts with the current [`Instant`] and pulls [`Action`]s and the next
//! deadline, in the style of `quinn-proto`. [`SyncGroup`] ties routers together like keepalived's
//! `vrrp_sync_group`. Time arithmetic is exact integer microseconds ([`timing`]).

pub mod action;
pub mod config;
pub mod input;
pub mod router;
pub mod sync_group;
pub mod time;
pub mod timing;
pub mod types;

pub use action::{Action, Counters, Reason, Transition, Warning};
pub use config::{ConfigError, RouterConfig};
pub use input::{Input, ReceivedAdvert, SyncCommand};
pub use router::VirtualRouter;
pub use sync_group::SyncGroup;
pub use time::{Centis, Instant};
pub use types::{Family, PRIORITY_OWNER, PRIORITY_STOP, Role, State, Version, Vrid};
