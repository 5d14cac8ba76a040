//! Inputs pushed into a [`crate::VirtualRouter`] by the I/O layer, health checkers and sync groups.

use std::net::IpAddr;

use crate::time::Centis;
use crate::types::Version;

/// An event for one virtual router; pass it with the current time to
/// [`crate::VirtualRouter::handle_input`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The Startup event (RFC 5798 §6.4.1): begin participating. Ignored unless stopped.
    Startup,
    /// The Shutdown event (RFC 5798 §6.4.2, §6.4.3): stop participating; a Master sends a
    /// priority-0 advert first. Ignored when already stopped.
    Shutdown,
    /// An advert for this VRID that passed the I/O layer's checks (TTL 255, checksum, length,
    /// VRID, auth for v2: RFC 5798 §7.1 / RFC 3768 §7.1 "MUST" checks on the packet itself).
    Advert(ReceivedAdvert),
    /// The interface came up (carrier and address present).
    InterfaceUp,
    /// The interface went down: enter Fault (keepalived FAULT). The core assumes the link is up
    /// until told otherwise.
    InterfaceDown,
    /// The sum of all tracking weights changed (keepalived `track_script`/`track_interface`
    /// `weight`); effective priority = configured + total, clamped to 1..=254, owner stays 255.
    TrackWeight(i32),
    /// A fault raised outside the election (e.g. a tracked script without weight failed):
    /// enter Fault until [`Input::ClearFault`].
    ForceFault,
    /// Clears [`Input::ForceFault`]; the router leaves Fault when no other fault remains.
    ClearFault,
    /// A command from a [`crate::SyncGroup`] to make this member follow the group.
    Sync(SyncCommand),
}

/// What a [`crate::SyncGroup`] asks a member to do (keepalived `vrrp_sync_group`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SyncCommand {
    /// Another member is in Fault: enter Fault (a group-held fault, separate from own faults).
    Fault,
    /// No member is in Fault any more: drop the group-held fault.
    ClearFault,
    /// Another member left Master for Backup: a Master becomes Backup (others ignore it).
    Backup,
    /// Another member became Master: a Backup becomes Master (others ignore it).
    Master,
}

/// A received advertisement, translated from the wire format by the I/O layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedAdvert {
    /// IP source address of the packet: the sender's primary address (RFC 5798 §5.1.1.1).
    pub src: IpAddr,
    /// Version field of the packet.
    pub version: Version,
    /// Priority field, 0..=255 (0: the Master is stopping, RFC 5798 §5.2.4).
    pub priority: u8,
    /// v3: Max Adver Int (RFC 5798 §5.2.7). v2: Adver Int in seconds, converted with
    /// [`Centis::from_secs`] (RFC 3768 §5.3.7).
    pub max_adver_int: Centis,
    /// The IPvX Address(es) carried in the packet (RFC 5798 §5.2.9), in packet order.
    pub addresses: Vec<IpAddr>,
}
