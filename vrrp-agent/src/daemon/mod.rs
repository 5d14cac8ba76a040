//! The daemon: the one place that reads the clock and owns the sockets. One event loop drives
//! every instance: it sleeps until the earliest deadline of any election core, announcement
//! schedule or heartbeat, or until a packet, link event, tracking result, control request or
//! signal arrives; it feeds the core and carries out the actions the core returns.
//!
//! Side effects of the core's actions (RFC 5798 §6.4):
//! - `SendAdvert`: encode (vrrp-common) and send from the virtual MAC over AF_PACKET (§7.3, §8.1.2).
//! - `AddVips` / `RemoveVips`: rtnetlink, marked with our IFA_PROTO so a restart finds stale ones.
//! - `SetRole`: the XDP maps (who answers ARP/ND, who takes frames to the virtual MAC).
//! - `Announce`: gratuitous ARP / unsolicited NA on keepalived's garp schedule.
//! - `StateChanged`: one log line with the reason, notify scripts, sync groups.
//!
//! Transmit pacing (`pacer`): a large batch of frames leaves in chunks on a fixed slot grid.
//!
//! Advert absorption (`absorb`): on a Backup the XDP program drops the Master's routine adverts;
//! the loop feeds the core their last arrival time before its Master_Down_Timer fires.

pub mod absorb;
pub mod clock;
pub mod instance;
pub mod ipvs;
pub mod lvs;
pub mod pacer;
pub mod run;
pub mod status;
pub mod vips;

pub use run::run;
