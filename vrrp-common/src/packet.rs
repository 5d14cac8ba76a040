//! The VRRP wire format (RFC 3768 §5, RFC 5798 §5): decode and encode adverts without allocation.
//!
//! The input of [`decode`] and the output of [`encode`] is the VRRP message: the IP payload,
//! exactly as long as the IP header says (IPv4 total length minus IHL, or the IPv6 payload length).
//! The IP header itself (TTL 255, protocol 112, the multicast group) is the caller's business
//! (RFC 5798 §7.1), except the source and destination addresses, which the VRRPv3 checksum covers
//! and which the caller passes in [`Endpoints`].
//!
//! VRRPv2, RFC 3768 §5.1 (IPv4 only):
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |   Auth Type   |   Adver Int   |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         IP Address (1)                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                            .                                  |
//! |                         IP Address (n)                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Authentication Data (1)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                     Authentication Data (2)                   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! Adver Int is in seconds; the checksum covers the VRRP message only (RFC 3768 §5.3.8).
//!
//! VRRPv3, RFC 5798 §5.1 (IPv4 and IPv6; IPvX addresses are 4 or 16 bytes):
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    |Count IPvX Addr|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |(rsvd) |     Max Adver Int     |          Checksum             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                       IPvX Address(es)                        |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//! Max Adver Int is 12 bits of centiseconds (RFC 5798 §5.2.7); the 4 reserved bits are sent as 0
//! and ignored on receive (§5.2.6). The checksum also covers an IPv4 or IPv6 pseudo-header
//! (§5.2.8), unless a peer is configured for the v2-style sum ([`ChecksumMode`]).
//!
//! [`decode`] checks, in this order, and stops at the first failure (RFC 5798 §7.1 / RFC 3768
//! §7.1 order: version, complete packet, checksum, then the fields):
//! fixed header present, version, v2 not over IPv6, type, length against count, checksum, VRID,
//! count, (v2) auth type, interval.

use crate::checksum::{Checksum, pseudo_header_v4, pseudo_header_v6};
use crate::proto::{Family, IPPROTO_VRRP};

/// Length of the fixed VRRP header, both versions (RFC 3768 §5.1, RFC 5798 §5.1).
pub const HEADER_LEN: usize = 8;
/// Length of the VRRPv2 Authentication Data that follows the addresses (RFC 3768 §5.3.10).
pub const AUTH_DATA_LEN: usize = 8;
/// Length of one IPv4 address in the address list.
pub const V4_ADDR_LEN: usize = 4;
/// Length of one IPv6 address in the address list.
pub const V6_ADDR_LEN: usize = 16;
/// The only VRRP type: ADVERTISEMENT (RFC 3768 §5.3.2, RFC 5798 §5.2.2).
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// VRRPv2 Auth Type 0: no authentication (RFC 3768 §5.3.6).
pub const AUTH_TYPE_NONE: u8 = 0;
/// VRRPv2 Auth Type 1: simple text password (RFC 2338 §5.3.6.1; reserved in RFC 3768 §5.3.6 but
/// still sent by keepalived's `auth_type PASS`).
pub const AUTH_TYPE_SIMPLE_TEXT: u8 = 1;
/// VRRPv2 Auth Type 2: IP Authentication Header (RFC 2338 §5.3.6.2; removed, RFC 3768 §5.3.6).
pub const AUTH_TYPE_AH: u8 = 2;
/// The largest VRRPv3 Max Adver Int: 12 bits of centiseconds, 40.95 s (RFC 5798 §5.2.7).
pub const MAX_ADVER_INT_CS: u16 = 0x0fff;
/// The largest address count the 8-bit Count field can carry.
pub const MAX_COUNT: usize = u8::MAX as usize;
/// The longest message any valid advert can have: VRRPv3 over IPv6 with 255 addresses.
pub const MAX_MESSAGE_LEN: usize = HEADER_LEN + MAX_COUNT * V6_ADDR_LEN;

/// The VRRP version in the high nibble of the first byte (RFC 3768 §5.3.1, RFC 5798 §5.2.1).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// VRRPv2, RFC 3768: IPv4 only, interval in seconds, authentication fields.
    V2 = 2,
    /// VRRPv3, RFC 5798: IPv4 and IPv6, interval in centiseconds.
    V3 = 3,
}

/// Length of one address of `family` in the address list.
#[inline(always)]
pub const fn addr_len(family: Family) -> usize {
    match family {
        Family::V4 => V4_ADDR_LEN,
        Family::V6 => V6_ADDR_LEN,
    }
}

/// The exact length of a VRRP message carrying `count` addresses: the buffer size [`encode`]
/// needs and the only length [`decode`] accepts for that count. (`Version::V2` with
/// `Family::V6` is not a valid combination; the length is computed all the same.)
#[inline(always)]
pub const fn max_len(family: Family, version: Version, count: u8) -> usize {
    let auth = match version {
        Version::V2 => AUTH_DATA_LEN,
        Version::V3 => 0,
    };
    HEADER_LEN + count as usize * addr_len(family) + auth
}

/// VRRPv2 authentication (RFC 3768 §5.3.6). AH (type 2) is not representable: it was removed
/// from VRRP and [`decode`] refuses it with [`DecodeError::AuthAh`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Type 0. The Authentication Data is sent as zeros and ignored on receive (RFC 3768 §5.3.10).
    None,
    /// Type 1, the 8-byte simple text password of RFC 2338 §5.3.6.1 (keepalived `auth_type PASS`).
    SimpleText([u8; AUTH_DATA_LEN]),
}

impl Auth {
    /// The Auth Type byte.
    pub const fn type_byte(&self) -> u8 {
        match self {
            Auth::None => AUTH_TYPE_NONE,
            Auth::SimpleText(_) => AUTH_TYPE_SIMPLE_TEXT,
        }
    }

    /// The 8 bytes of Authentication Data to send.
    pub const fn data(&self) -> [u8; AUTH_DATA_LEN] {
        match self {
            Auth::None => [0; AUTH_DATA_LEN],
            Auth::SimpleText(pw) => *pw,
        }
    }
}

/// The fields that differ between the versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VersionFields {
    /// VRRPv2 (RFC 3768 §5.3.6, §5.3.7).
    V2 {
        /// Authentication type and data.
        auth: Auth,
        /// Advertisement interval in seconds, 1..=255.
        adver_int_s: u8,
    },
    /// VRRPv3 (RFC 5798 §5.2.7).
    V3 {
        /// Maximum advertisement interval in centiseconds, 1..=[`MAX_ADVER_INT_CS`].
        max_adver_int_cs: u16,
    },
}

/// Everything in an advert except the address list and the checksum: what [`encode`] takes and
/// what [`decode`] returns in [`Advert::fields`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AdvertFields {
    /// Virtual Router Identifier, 1..=255 (RFC 5798 §5.2.3).
    pub vrid: u8,
    /// Priority: 255 address owner, 1..=254 backups, 0 the master stops (RFC 5798 §5.2.4).
    pub priority: u8,
    /// Version and the fields that depend on it.
    pub version: VersionFields,
}

impl AdvertFields {
    /// The VRRP version these fields encode as.
    pub const fn version(&self) -> Version {
        match self.version {
            VersionFields::V2 { .. } => Version::V2,
            VersionFields::V3 { .. } => Version::V3,
        }
    }

    /// The advertisement interval in centiseconds, whatever the version (v2: seconds × 100, at
    /// most 25500; v3: at most 4095).
    pub const fn interval_cs(&self) -> u16 {
        match self.version {
            VersionFields::V2 { adver_int_s, .. } => adver_int_s as u16 * 100,
            VersionFields::V3 { max_adver_int_cs } => max_adver_int_cs,
        }
    }
}

/// An address list, borrowed: the addresses [`encode`] writes or the ones [`decode`] found,
/// without copying (all IPv4 or all IPv6: one virtual router per family, RFC 5798 §1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Addrs<'a> {
    /// IPv4 addresses, network byte order.
    V4(&'a [[u8; 4]]),
    /// IPv6 addresses, network byte order.
    V6(&'a [[u8; 16]]),
}

/// One address of an [`Addrs`] list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Addr {
    /// IPv4 address, network byte order.
    V4([u8; 4]),
    /// IPv6 address, network byte order.
    V6([u8; 16]),
}

impl<'a> Addrs<'a> {
    /// The family of the list.
    pub const fn family(&self) -> Family {
        match self {
            Addrs::V4(_) => Family::V4,
            Addrs::V6(_) => Family::V6,
        }
    }

    /// How many addresses.
    pub const fn len(&self) -> usize {
        match self {
            Addrs::V4(a) => a.len(),
            Addrs::V6(a) => a.len(),
        }
    }

    /// Whether the list is empty.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The addresses as they are on the wire, back to back.
    pub const fn as_bytes(&self) -> &'a [u8] {
        match self {
            Addrs::V4(a) => a.as_flattened(),
            Addrs::V6(a) => a.as_flattened(),
        }
    }

    /// Iterates over the addresses in wire order.
    pub fn iter(&self) -> AddrIter<'a> {
        AddrIter {
            addrs: *self,
            next: 0,
        }
    }
}

impl<'a> IntoIterator for Addrs<'a> {
    type Item = Addr;
    type IntoIter = AddrIter<'a>;
    fn into_iter(self) -> AddrIter<'a> {
        self.iter()
    }
}

/// Iterator over an [`Addrs`] list, yielding [`Addr`] values.
#[derive(Clone, Debug)]
pub struct AddrIter<'a> {
    addrs: Addrs<'a>,
    next: usize,
}

impl Iterator for AddrIter<'_> {
    type Item = Addr;
    fn next(&mut self) -> Option<Addr> {
        let item = match self.addrs {
            Addrs::V4(a) => Addr::V4(*a.get(self.next)?),
            Addrs::V6(a) => Addr::V6(*a.get(self.next)?),
        };
        self.next += 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.addrs.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for AddrIter<'_> {}

/// The IP source and destination of an advert: the VRRPv3 pseudo-header covers them (RFC 5798
/// §5.2.8), and the family decides the address length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoints {
    /// IPv4 source and destination.
    V4 {
        /// IP source address.
        src: [u8; 4],
        /// IP destination address (224.0.0.18 for multicast adverts).
        dst: [u8; 4],
    },
    /// IPv6 source and destination.
    V6 {
        /// IP source address (link-local, RFC 5798 §5.1.2.1).
        src: [u8; 16],
        /// IP destination address (ff02::12 for multicast adverts).
        dst: [u8; 16],
    },
}

impl Endpoints {
    /// The address family of the IP header.
    pub const fn family(&self) -> Family {
        match self {
            Endpoints::V4 { .. } => Family::V4,
            Endpoints::V6 { .. } => Family::V6,
        }
    }

    /// The sum of the pseudo-header for a VRRP message of `len` bytes (RFC 5798 §5.2.8).
    fn pseudo_header(&self, len: usize) -> Checksum {
        match self {
            // `len` <= MAX_MESSAGE_LEN (4088) for any message decode or encode checksums.
            Endpoints::V4 { src, dst } => pseudo_header_v4(src, dst, IPPROTO_VRRP, len as u16),
            Endpoints::V6 { src, dst } => pseudo_header_v6(src, dst, IPPROTO_VRRP, len as u32),
        }
    }
}

/// Which checksum a VRRPv3 advert carries. VRRPv2 has one only: over the message (RFC 3768
/// §5.3.8), reported as `Rfc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumStyle {
    /// As the RFC of the version says: v3 includes the pseudo-header (RFC 5798 §5.2.8); this is
    /// what keepalived 2.2.7 and FRR 8.4.4 send.
    Rfc,
    /// Over the VRRP message only, as in v2: peers configured with keepalived's
    /// `v3_checksum_as_v2`. Same as `Rfc` for v2.
    V2Style,
}

/// Which checksum [`decode`] accepts on a VRRPv3 advert (ignored for v2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumMode {
    /// Only [`ChecksumStyle::Rfc`].
    Rfc,
    /// Only [`ChecksumStyle::V2Style`].
    V2Style,
    /// Either; [`Advert::checksum_style`] tells which one matched (`Rfc` is tried first).
    AcceptEither,
}

/// What [`decode`] needs besides the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecodeCtx {
    /// The IP header's addresses (and so the family).
    pub endpoints: Endpoints,
    /// Which VRRPv3 checksum to accept.
    pub checksum: ChecksumMode,
}

/// What [`encode`] needs besides the fields and addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EncodeCtx {
    /// The addresses the IP header will carry (and so the family).
    pub endpoints: Endpoints,
    /// Which VRRPv3 checksum to write.
    pub checksum: ChecksumStyle,
}

/// A decoded, valid advert; the addresses borrow from the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Advert<'a> {
    /// Version, VRID, priority, interval, (v2) authentication.
    pub fields: AdvertFields,
    /// The address list (Count = `addrs.len()`, RFC 5798 §5.2.5, §5.2.9).
    pub addrs: Addrs<'a>,
    /// The Checksum field as received.
    pub checksum: u16,
    /// Which checksum matched.
    pub checksum_style: ChecksumStyle,
}

impl Advert<'_> {
    /// The VRRP version.
    pub const fn version(&self) -> Version {
        self.fields.version()
    }

    /// The Count IPvX Addr field.
    pub const fn count(&self) -> u8 {
        // decode built `addrs` from the 8-bit Count field.
        self.addrs.len() as u8
    }
}

/// Every way [`decode`] refuses a message. [`DecodeError::name`] gives a stable label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// Shorter than the 8-byte fixed header.
    Truncated {
        /// Bytes received.
        len: usize,
    },
    /// Version neither 2 nor 3 (RFC 5798 §5.2.1, §7.1; RFC 3768 §5.3.1).
    BadVersion {
        /// The version nibble received.
        version: u8,
    },
    /// VRRPv2 in an IPv6 packet: VRRPv2 is IPv4 only (RFC 3768 §1; RFC 5798 §1 adds IPv6 in v3).
    V2OverIpv6,
    /// Type other than 1 (ADVERTISEMENT): "MUST be discarded" (RFC 5798 §5.2.2, RFC 3768 §5.3.2).
    BadType {
        /// The type nibble received.
        kind: u8,
    },
    /// Shorter than the header, Count addresses (and v2 auth data) need: the packet is not
    /// complete (RFC 5798 §7.1, RFC 3768 §7.1).
    ShortForCount {
        /// The Count field.
        count: u8,
        /// The length Count implies.
        expected: usize,
        /// Bytes received.
        actual: usize,
    },
    /// Longer than Count implies. Refused, as keepalived refuses it ("vrrp packet too long"):
    /// the message is the whole IP payload, so extra bytes mean Count or the IP length is wrong.
    TrailingBytes {
        /// The length Count implies.
        expected: usize,
        /// Bytes received.
        actual: usize,
    },
    /// The checksum does not verify (RFC 5798 §5.2.8, §7.1; RFC 3768 §5.3.8, §7.1).
    BadChecksum {
        /// The checksum the message should carry (the RFC style for `AcceptEither`).
        expected: u16,
        /// The Checksum field received.
        found: u16,
    },
    /// VRID 0: the VRID range is 1-255 (RFC 5798 §5.2.3, RFC 3768 §5.3.3).
    VridZero,
    /// VRRPv3 with Count 0: "The minimum value is 1" (RFC 5798 §5.2.5). (VRRPv2 sets no minimum,
    /// RFC 3768 §5.3.5, so v2 with no address is accepted.)
    NoAddresses,
    /// Advertisement interval 0. No sender can configure it (keepalived and FRR take 10 ms to
    /// 40.95 s in v3, 1-255 s in v2), and a v3 backup would learn Master_Adver_Interval = 0
    /// (RFC 5798 §6.4.2) and so a Master_Down_Interval of Skew_Time alone (§6.1): it would
    /// preempt a live master at once. RFC 3768 §7.1 discards a v2 interval that differs from
    /// the configured one, which is never 0.
    IntervalZero,
    /// VRRPv2 Auth Type 2 (IP Authentication Header): removed from VRRP, RFC 3768 §5.3.6 and §10;
    /// not supported.
    AuthAh,
    /// VRRPv2 Auth Type other than 0, 1, 2: "MUST be discarded" (RFC 3768 §5.3.6).
    UnknownAuthType {
        /// The Auth Type received.
        auth_type: u8,
    },
}

impl DecodeError {
    /// Every label [`DecodeError::name`] can return, in declaration order.
    pub const NAMES: [&'static str; 12] = [
        "truncated",
        "bad_version",
        "v2_over_ipv6",
        "bad_type",
        "short_for_count",
        "trailing_bytes",
        "bad_checksum",
        "vrid_zero",
        "no_addresses",
        "interval_zero",
        "auth_ah",
        "unknown_auth_type",
    ];

    /// A stable snake_case label for metrics and logs.
    pub const fn name(&self) -> &'static str {
        let i = match self {
            DecodeError::Truncated { .. } => 0,
            DecodeError::BadVersion { .. } => 1,
            DecodeError::V2OverIpv6 => 2,
            DecodeError::BadType { .. } => 3,
            DecodeError::ShortForCount { .. } => 4,
            DecodeError::TrailingBytes { .. } => 5,
            DecodeError::BadChecksum { .. } => 6,
            DecodeError::VridZero => 7,
            DecodeError::NoAddresses => 8,
            DecodeError::IntervalZero => 9,
            DecodeError::AuthAh => 10,
            DecodeError::UnknownAuthType { .. } => 11,
        };
        Self::NAMES[i]
    }
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::Truncated { len } => {
                write!(
                    f,
                    "{len} bytes, shorter than the {HEADER_LEN}-byte VRRP header"
                )
            }
            DecodeError::BadVersion { version } => write!(f, "VRRP version {version}"),
            DecodeError::V2OverIpv6 => f.write_str("VRRPv2 over IPv6"),
            DecodeError::BadType { kind } => write!(f, "VRRP type {kind}, not ADVERTISEMENT"),
            DecodeError::ShortForCount {
                count,
                expected,
                actual,
            } => write!(
                f,
                "{actual} bytes, {count} addresses need {expected}: packet incomplete"
            ),
            DecodeError::TrailingBytes { expected, actual } => {
                write!(f, "{actual} bytes, the address count implies {expected}")
            }
            DecodeError::BadChecksum { expected, found } => {
                write!(f, "checksum {found:#06x}, expected {expected:#06x}")
            }
            DecodeError::VridZero => f.write_str("VRID 0"),
            DecodeError::NoAddresses => f.write_str("VRRPv3 advert with no address"),
            DecodeError::IntervalZero => f.write_str("advertisement interval 0"),
            DecodeError::AuthAh => f.write_str("VRRPv2 AH authentication (type 2) unsupported"),
            DecodeError::UnknownAuthType { auth_type } => {
                write!(f, "unknown VRRPv2 auth type {auth_type}")
            }
        }
    }
}

impl core::error::Error for DecodeError {}

/// Every way [`encode`] refuses its input. Encode refuses what [`decode`] would refuse, so
/// whatever it writes decodes to the same fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EncodeError {
    /// The output buffer is shorter than the message.
    BufferTooSmall {
        /// Bytes the message needs ([`max_len`]).
        needed: usize,
        /// Length of the buffer given.
        available: usize,
    },
    /// The address list is not of the family of the endpoints.
    FamilyMismatch,
    /// VRRPv2 fields with IPv6 endpoints (VRRPv2 is IPv4 only, RFC 3768 §1).
    V2OverIpv6,
    /// VRID 0 (RFC 5798 §5.2.3).
    VridZero,
    /// VRRPv3 with no address (RFC 5798 §5.2.5).
    NoAddresses,
    /// More than 255 addresses: Count is 8 bits (RFC 5798 §5.2.5).
    TooManyAddresses {
        /// How many were given.
        count: usize,
    },
    /// Interval 0 (see [`DecodeError::IntervalZero`]).
    IntervalZero,
    /// VRRPv3 interval above 4095 cs: it has 12 bits (RFC 5798 §5.2.7).
    IntervalTooLarge {
        /// The interval given, centiseconds.
        centis: u16,
    },
}

impl core::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            EncodeError::BufferTooSmall { needed, available } => {
                write!(f, "buffer of {available} bytes, the advert needs {needed}")
            }
            EncodeError::FamilyMismatch => f.write_str("address family differs from endpoints"),
            EncodeError::V2OverIpv6 => f.write_str("VRRPv2 over IPv6"),
            EncodeError::VridZero => f.write_str("VRID 0"),
            EncodeError::NoAddresses => f.write_str("VRRPv3 advert with no address"),
            EncodeError::TooManyAddresses { count } => {
                write!(f, "{count} addresses, at most {MAX_COUNT}")
            }
            EncodeError::IntervalZero => f.write_str("advertisement interval 0"),
            EncodeError::IntervalTooLarge { centis } => {
                write!(f, "interval {centis} cs, at most {MAX_ADVER_INT_CS}")
            }
        }
    }
}

impl core::error::Error for EncodeError {}

/// The sum of `msg` with its Checksum field (bytes 6..8) left out, on top of `start`.
fn sum_without_checksum_field(msg: &[u8], mut start: Checksum) -> Checksum {
    // Callers pass at least HEADER_LEN bytes; `get` keeps this panic-free regardless.
    start
        .add_bytes(msg.get(..6).unwrap_or(&[]))
        .add_bytes(msg.get(8..).unwrap_or(&[]));
    start
}

/// Where the checksum sum starts for `style`: the pseudo-header for v3 RFC style, else nothing.
fn checksum_start(
    version: Version,
    style: ChecksumStyle,
    endpoints: &Endpoints,
    len: usize,
) -> Checksum {
    match (version, style) {
        (Version::V3, ChecksumStyle::Rfc) => endpoints.pseudo_header(len),
        _ => Checksum::new(),
    }
}

/// Whether the whole message, Checksum field included, sums to 0xffff (RFC 1071 §1 (3)).
fn checksum_verifies(
    msg: &[u8],
    version: Version,
    style: ChecksumStyle,
    endpoints: &Endpoints,
) -> bool {
    let mut sum = checksum_start(version, style, endpoints, msg.len());
    sum.add_bytes(msg);
    sum.fold() == 0xffff
}

/// Decodes and validates one VRRP message (the whole IP payload). Never panics, never reads past
/// `bytes`. The checks and their order are listed in the module documentation.
///
/// Not checked here (the caller knows the configuration, RFC 5798 §7.1, RFC 3768 §7.1): TTL,
/// whether the VRID is configured, the v2 interval and auth against the local ones, the address
/// list against the local one.
pub fn decode(bytes: &[u8], ctx: DecodeCtx) -> Result<Advert<'_>, DecodeError> {
    let Some(header) = bytes.first_chunk::<HEADER_LEN>() else {
        return Err(DecodeError::Truncated { len: bytes.len() });
    };
    let version = match header[0] >> 4 {
        2 => Version::V2,
        3 => Version::V3,
        version => return Err(DecodeError::BadVersion { version }),
    };
    let family = ctx.endpoints.family();
    if version == Version::V2 && family == Family::V6 {
        return Err(DecodeError::V2OverIpv6);
    }
    let kind = header[0] & 0x0f;
    if kind != TYPE_ADVERTISEMENT {
        return Err(DecodeError::BadType { kind });
    }

    // RFC 5798 §7.1: "MUST verify that the received packet contains the complete VRRP packet
    // (including fixed fields, and IPvX address(es))".
    let count = header[3];
    let expected = max_len(family, version, count);
    if bytes.len() < expected {
        return Err(DecodeError::ShortForCount {
            count,
            expected,
            actual: bytes.len(),
        });
    }
    if bytes.len() > expected {
        return Err(DecodeError::TrailingBytes {
            expected,
            actual: bytes.len(),
        });
    }

    // RFC 5798 §7.1 / RFC 3768 §7.1: "MUST verify the VRRP checksum".
    let found = u16::from_be_bytes([header[6], header[7]]);
    let tries: &[ChecksumStyle] = match (version, ctx.checksum) {
        (Version::V2, _) | (Version::V3, ChecksumMode::Rfc) => &[ChecksumStyle::Rfc],
        (Version::V3, ChecksumMode::V2Style) => &[ChecksumStyle::V2Style],
        (Version::V3, ChecksumMode::AcceptEither) => &[ChecksumStyle::Rfc, ChecksumStyle::V2Style],
    };
    let Some(&checksum_style) = tries
        .iter()
        .find(|&&style| checksum_verifies(bytes, version, style, &ctx.endpoints))
    else {
        let style = tries.first().copied().unwrap_or(ChecksumStyle::Rfc);
        let start = checksum_start(version, style, &ctx.endpoints, bytes.len());
        let expected = sum_without_checksum_field(bytes, start).finish();
        return Err(DecodeError::BadChecksum { expected, found });
    };

    let vrid = header[1];
    if vrid == 0 {
        return Err(DecodeError::VridZero);
    }
    if version == Version::V3 && count == 0 {
        return Err(DecodeError::NoAddresses);
    }

    let version_fields = match version {
        Version::V2 => {
            let auth = match header[4] {
                AUTH_TYPE_NONE => Auth::None,
                AUTH_TYPE_SIMPLE_TEXT => {
                    let data = bytes
                        .last_chunk::<AUTH_DATA_LEN>()
                        .copied()
                        .unwrap_or([0; AUTH_DATA_LEN]);
                    Auth::SimpleText(data)
                }
                AUTH_TYPE_AH => return Err(DecodeError::AuthAh),
                auth_type => return Err(DecodeError::UnknownAuthType { auth_type }),
            };
            let adver_int_s = header[5];
            if adver_int_s == 0 {
                return Err(DecodeError::IntervalZero);
            }
            VersionFields::V2 { auth, adver_int_s }
        }
        Version::V3 => {
            // RFC 5798 §5.2.6: the 4 reserved bits are ignored on reception.
            let max_adver_int_cs = u16::from_be_bytes([header[4], header[5]]) & MAX_ADVER_INT_CS;
            if max_adver_int_cs == 0 {
                return Err(DecodeError::IntervalZero);
            }
            VersionFields::V3 { max_adver_int_cs }
        }
    };

    let list = bytes
        .get(HEADER_LEN..HEADER_LEN + count as usize * addr_len(family))
        .unwrap_or(&[]);
    let addrs = match family {
        Family::V4 => Addrs::V4(list.as_chunks::<V4_ADDR_LEN>().0),
        Family::V6 => Addrs::V6(list.as_chunks::<V6_ADDR_LEN>().0),
    };
    Ok(Advert {
        fields: AdvertFields {
            vrid,
            priority: header[2],
            version: version_fields,
        },
        addrs,
        checksum: found,
        checksum_style,
    })
}

/// Writes an advert into the start of `out` with its checksum and returns its length
/// ([`max_len`]). No allocation; `out` is untouched on error. The v3 reserved bits and the v2
/// Authentication Data of `Auth::None` are written as zeros (RFC 5798 §5.2.6, RFC 3768 §5.3.10).
pub fn encode(
    fields: &AdvertFields,
    addrs: Addrs<'_>,
    ctx: EncodeCtx,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let family = ctx.endpoints.family();
    if addrs.family() != family {
        return Err(EncodeError::FamilyMismatch);
    }
    let version = fields.version();
    if version == Version::V2 && family == Family::V6 {
        return Err(EncodeError::V2OverIpv6);
    }
    if fields.vrid == 0 {
        return Err(EncodeError::VridZero);
    }
    let Ok(count) = u8::try_from(addrs.len()) else {
        return Err(EncodeError::TooManyAddresses { count: addrs.len() });
    };
    if version == Version::V3 && count == 0 {
        return Err(EncodeError::NoAddresses);
    }
    let interval_bytes = match fields.version {
        VersionFields::V2 { auth, adver_int_s } => {
            if adver_int_s == 0 {
                return Err(EncodeError::IntervalZero);
            }
            [auth.type_byte(), adver_int_s]
        }
        VersionFields::V3 { max_adver_int_cs } => {
            if max_adver_int_cs == 0 {
                return Err(EncodeError::IntervalZero);
            }
            if max_adver_int_cs > MAX_ADVER_INT_CS {
                return Err(EncodeError::IntervalTooLarge {
                    centis: max_adver_int_cs,
                });
            }
            max_adver_int_cs.to_be_bytes()
        }
    };
    let len = max_len(family, version, count);
    let available = out.len();
    let Some(msg) = out.get_mut(..len) else {
        return Err(EncodeError::BufferTooSmall {
            needed: len,
            available,
        });
    };
    let (header, rest) = msg.split_at_mut(HEADER_LEN);
    header.copy_from_slice(&[
        ((version as u8) << 4) | TYPE_ADVERTISEMENT,
        fields.vrid,
        fields.priority,
        count,
        interval_bytes[0],
        interval_bytes[1],
        0,
        0,
    ]);
    let (list, auth_data) = rest.split_at_mut(addrs.as_bytes().len());
    list.copy_from_slice(addrs.as_bytes());
    if let VersionFields::V2 { auth, .. } = fields.version {
        auth_data.copy_from_slice(&auth.data());
    }
    let mut sum = checksum_start(version, ctx.checksum, &ctx.endpoints, len);
    sum.add_bytes(msg);
    let checksum = sum.finish();
    msg[6..8].copy_from_slice(&checksum.to_be_bytes());
    Ok(len)
}
