//! Outputs pulled from a [`crate::VirtualRouter`]: actions for the I/O layer, transitions, warnings.

use std::net::IpAddr;

use crate::input::SyncCommand;
use crate::time::{Centis, Instant};
use crate::types::{Role, State, Version};

/// Something the I/O layer must do, in the order returned by
/// [`crate::VirtualRouter::poll_action`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Send one advertisement with this priority, the configured interval and the configured
    /// virtual addresses (RFC 5798 §5.1, §6.4). Priority 0 means "Master stopping" (§5.2.4).
    SendAdvert {
        /// Priority field to send: the effective priority, or 0 on shutdown.
        priority: u8,
    },
    /// Announce every virtual address: gratuitous ARP for IPv4 (RFC 826, RFC 5798 §6.4.1 (2))
    /// or unsolicited Neighbor Advertisements with the router flag for IPv6 (RFC 4861 §7.2.6,
    /// RFC 5798 §6.4.1 (3)), using the virtual MAC.
    Announce,
    /// Install the virtual addresses on the interface (becoming Master).
    AddVips,
    /// Remove the virtual addresses from the interface (leaving Master).
    RemoveVips,
    /// Program the data plane for this role (RFC 5798 §6.4.2 / §6.4.3 packet handling).
    SetRole(Role),
    /// The state changed; log it. Emitted before the side effects of the change. `from == to ==
    /// Fault` means the cause of an ongoing Fault changed (see [`crate::SyncGroup`]).
    StateChanged(Transition),
    /// An advert was odd or refused; log it (the RFC's "SHOULD log the event").
    Warning(Warning),
}

/// One state change, with its cause.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// State before.
    pub from: State,
    /// State after.
    pub to: State,
    /// Why.
    pub reason: Reason,
    /// When (the `now` of the call that caused it).
    pub at: Instant,
}

/// Why a transition happened; stable names for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Startup of a non-owner: Initialize → Backup (RFC 5798 §6.4.1).
    Startup,
    /// Startup of the address owner: Initialize → Master (RFC 5798 §6.4.1).
    OwnerStartup,
    /// Master_Down_Timer fired with no advert heard (RFC 5798 §6.4.2).
    MasterDownTimerExpired,
    /// Master_Down_Timer, shortened to Skew_Time by a priority-0 advert, fired (§6.4.2).
    PriorityZeroReceived,
    /// Master_Down_Timer fired after discarding a lower-priority Master's adverts
    /// (preemption, RFC 5798 §6.4.2).
    Preempted,
    /// A Master heard a higher priority (RFC 5798 §6.4.3).
    HigherPriorityAdvert,
    /// A Master heard its own priority from a higher primary address (RFC 5798 §6.4.3).
    EqualPriorityHigherAddress,
    /// The Shutdown event (RFC 5798 §6.4.2, §6.4.3).
    Shutdown,
    /// The interface went down (keepalived FAULT).
    LinkDown,
    /// The interface came back; the router re-initialized (RFC 5798 §6.4.1 as at Startup).
    LinkUp,
    /// [`crate::Input::ForceFault`].
    ForcedFault,
    /// [`crate::Input::ClearFault`]; the router re-initialized.
    FaultCleared,
    /// A [`crate::SyncGroup`] command.
    SyncGroup(SyncCommand),
}

/// A logged anomaly. Adverts that trigger a warning are discarded unless the variant says
/// otherwise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Warning {
    /// v2 only: the advert's interval differs from ours; discarded (RFC 3768 §7.1).
    AdvertIntervalMismatch {
        /// Sender.
        src: IpAddr,
        /// Interval in the advert.
        received: Centis,
        /// Our Advertisement_Interval.
        configured: Centis,
    },
    /// The advert's address list differs from ours (RFC 5798 §7.1, RFC 3768 §7.1). Dropped
    /// unless the sender's priority is 255, in which case it was still processed.
    AddressListMismatch {
        /// Sender.
        src: IpAddr,
        /// Sender's priority.
        priority: u8,
        /// Whether the advert was dropped.
        dropped: bool,
    },
    /// The advert's version is not ours (RFC 5798 §7.1); discarded. RFC 5798 §8.4 mixed v2/v3
    /// operation is not implemented.
    VersionMismatch {
        /// Sender.
        src: IpAddr,
        /// Version in the advert.
        received: Version,
    },
    /// The advert's source is not of our address family; discarded.
    FamilyMismatch {
        /// Sender.
        src: IpAddr,
    },
    /// The advert's source is our own primary address (looped back, or an address conflict);
    /// discarded.
    OwnAddress {
        /// Sender.
        src: IpAddr,
    },
    /// We are the address owner and still heard an advert: a misconfiguration (RFC 9568 §7.1 as
    /// corrected by errata 8298). The advert was processed normally, so duplicate owners settle
    /// on the higher address instead of both staying Master (RFC 5798 §7.1 would discard it).
    AdvertReceivedByOwner {
        /// Sender.
        src: IpAddr,
        /// Sender's priority.
        priority: u8,
    },
}

/// Event counters for one virtual router (cf. the RFC 6527 VRRPv3 MIB statistics).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Adverts handed to the core.
    pub adverts_received: u64,
    /// Adverts discarded (wrong state, preemption, mismatch, ...).
    pub adverts_discarded: u64,
    /// Priority-0 adverts received.
    pub priority_zero_received: u64,
    /// Adverts sent (every [`Action::SendAdvert`]).
    pub adverts_sent: u64,
    /// Priority-0 adverts sent.
    pub priority_zero_sent: u64,
    /// Transitions to Master.
    pub became_master: u64,
    /// v2 interval mismatches (RFC 3768 §7.1).
    pub interval_mismatch: u64,
    /// Address-list mismatches (RFC 5798 §7.1).
    pub address_list_mismatch: u64,
    /// Version or family mismatches.
    pub version_mismatch: u64,
}
