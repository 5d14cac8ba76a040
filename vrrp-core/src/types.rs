//! Small protocol value types: VRID, protocol version, address family, FSM state, data-plane role.

use core::fmt;
use core::num::NonZeroU8;

/// Virtual Router Identifier, 1..=255 (RFC 5798 §5.2.3; 0 is invalid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Vrid(NonZeroU8);

impl Vrid {
    /// `Some` for 1..=255, `None` for 0.
    #[must_use]
    pub const fn new(v: u8) -> Option<Self> {
        match NonZeroU8::new(v) {
            Some(n) => Some(Vrid(n)),
            None => None,
        }
    }

    /// The VRID value.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0.get()
    }
}

impl fmt::Display for Vrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Priority value of the address owner (RFC 5798 §5.2.4).
pub const PRIORITY_OWNER: u8 = 255;
/// Priority a Master sends when it stops participating (RFC 5798 §5.2.4).
pub const PRIORITY_STOP: u8 = 0;

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// VRRPv2, RFC 3768 (IPv4 only, interval in seconds).
    V2,
    /// VRRPv3, RFC 5798 (IPv4 and IPv6, interval in centiseconds).
    V3,
}

/// Address family of a virtual router (RFC 5798 §1: v4 and v6 instances are independent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4: gratuitous ARP announcements (RFC 826, RFC 5798 §6.4.1).
    V4,
    /// IPv6: unsolicited Neighbor Advertisements (RFC 4861 §7.2.6, RFC 5798 §6.4.1).
    V6,
}

/// State of a virtual router.
///
/// `Initialize`, `Backup` and `Master` are RFC 5798 §6.4. `Fault` is keepalived's FAULT: the
/// interface is down or a fault was forced (track script, sync group); it behaves like
/// `Initialize` (no adverts, no timers) but leaves by itself when the fault clears.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum State {
    /// Waiting for Startup (RFC 5798 §6.4.1).
    Initialize,
    /// Monitoring the Master (RFC 5798 §6.4.2).
    Backup,
    /// Forwarding for the virtual addresses (RFC 5798 §6.4.3).
    Master,
    /// Link down or forced fault (keepalived FAULT); not in RFC 5798.
    Fault,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

/// What the data plane should do for this virtual router's VIPs and virtual MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Initialize or Fault: own nothing, answer nothing.
    Inactive,
    /// RFC 5798 §6.4.2: do not answer ARP/ND for the VIPs, discard frames to the virtual MAC,
    /// do not accept packets addressed to the VIPs.
    Backup,
    /// RFC 5798 §6.4.3: answer ARP/ND for the VIPs with the virtual MAC and forward.
    Master {
        /// Accept packets addressed to the VIPs (RFC 5798 §6.1 `Accept_Mode`; always true for the
        /// address owner).
        accept: bool,
    },
}
