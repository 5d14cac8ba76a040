//! Sans-IO VRRP election state machine (RFC 5798 §6, RFC 3768 §6): no sockets, no clock reads.
//!
//! One [`VirtualRouter`] per (interface, VRID, address family). The caller pushes
//! [`Input`]s and timeouts with the current [`Instant`] and pulls [`Action`]s and the next
//! deadline, in the style of `quinn-proto`. [`SyncGroup`] ties routers together like keepalived's
//! `vrrp_sync_group`. Time arithmetic is exact integer microseconds ([`timing`]).
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use vrrp_core::{Action, Input, Instant, RouterConfig, State, Version, VirtualRouter, Vrid};
//!
//! let ip = |n| IpAddr::V4(Ipv4Addr::new(192, 0, 2, n));
//! let vrid = Vrid::new(51).expect("1..=255");
//! let mut r = VirtualRouter::new(RouterConfig::new(vrid, Version::V3, ip(11), vec![ip(100)]))
//!     .expect("valid config");
//! r.handle_input(Instant::ZERO, Input::Startup);
//! while let Some(action) = r.poll_action() {
//!     // the I/O layer performs each action here
//!     let _ = action;
//! }
//! // Priority 100, 1 s adverts: Master_Down_Interval = 3 s + 156/256 s (RFC 5798 §6.1).
//! let deadline = r.poll_timeout().expect("Backup waits for the Master");
//! assert_eq!(deadline.as_micros(), 3_609_375);
//! r.handle_timeout(deadline);
//! assert_eq!(r.state(), State::Master);
//! assert_eq!(r.poll_action().map(|a| matches!(a, Action::StateChanged(_))), Some(true));
//! ```
//!
//! # State table (RFC 5798 §6.4, plus keepalived's FAULT)
//!
//! | state | event | actions | next |
//! |---|---|---|---|
//! | Initialize | Startup, owner (§6.4.1) | advert, announce, Adver_Timer | Master |
//! | Initialize | Startup, non-owner (§6.4.1) | Master_Down_Timer = MDI | Backup |
//! | Backup | Master_Down_Timer fires (§6.4.2) | advert, announce, Adver_Timer | Master |
//! | Backup | advert, priority 0 (§6.4.2) | Master_Down_Timer = Skew_Time | Backup |
//! | Backup | advert ≥ own, or no preempt (§6.4.2) | learn interval (v3), timer = MDI | Backup |
//! | Backup | advert < own, preempt (§6.4.2) | discard | Backup |
//! | Master | Adver_Timer fires (§6.4.3) | advert, timer = interval | Master |
//! | Master | advert, priority 0 (§6.4.3) | advert, timer = interval | Master |
//! | Master | advert > own, or = own from higher address (§6.4.3) | learn interval, timer = MDI | Backup |
//! | Master | advert lower (§6.4.3) | discard (+ advert, keepalived default) | Master |
//! | Backup/Master | Shutdown (§6.4.2, §6.4.3) | Master: advert priority 0, remove VIPs | Initialize |
//! | Backup/Master | link down / forced fault | Master: remove VIPs (priority 0 if link up) | Fault |
//! | Fault | all faults cleared | as Startup (§6.4.1) | Backup/Master |

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
