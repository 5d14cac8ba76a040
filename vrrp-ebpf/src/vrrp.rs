//! Screening of VRRP advertisements (RFC 5798 §7.1, RFC 3768 §7.1) before the stack and the agent
//! see them. The header, common to v2 and v3 (RFC 5798 §5.2, RFC 3768 §5.3):
//! ```text
//!  0 version(4) type(4)  1 VRID  2 priority  3 count IPvX addrs
//!  4 v3: rsvd(4) max adver int(12) | v2: auth type(8) adver int(8)   6 checksum
//!  8 addresses: count * 4 (IPv4) or count * 16 (IPv6)
//!    v2 only: 8 bytes of authentication data
//! ```
//! This module parses and computes; `main.rs` orders the screens and picks the counter.

use aya_ebpf::programs::XdpContext;
use vrrp_common::proto::{Family, IPPROTO_VRRP};

use crate::{csum, parse};

/// Fixed VRRP header length.
pub const VRRP_HLEN: usize = 8;
/// VRRP type ADVERTISEMENT, the only type defined (RFC 5798 §5.2.2).
pub const VRRP_TYPE_ADVERT: u8 = 1;

/// The fields of the fixed VRRP header the screens and advert absorption use.
pub struct Header {
    pub version: u8,
    pub kind: u8,
    pub vrid: u8,
    pub priority: u8,
    pub count: u8,
    /// v3: Max Adver Int (low 12 bits of bytes 4-5, RFC 5798 §5.2.7); v2: Adver Int (byte 5,
    /// RFC 3768 §5.3.7). Same encoding as `MasterRecord::interval`.
    pub interval: u16,
}

/// Reads the fixed header at `off` (the caller checked `VRRP_HLEN` bytes are there).
#[inline(always)]
pub fn header(ctx: &XdpContext, off: usize) -> Option<Header> {
    let h = parse::read::<[u8; VRRP_HLEN]>(ctx, off)?;
    let version = h[0] >> 4;
    let interval = if version == 2 {
        u16::from(h[5])
    } else {
        u16::from_be_bytes([h[4], h[5]]) & 0x0fff
    };
    Some(Header {
        version,
        kind: h[0] & 0x0f,
        vrid: h[1],
        priority: h[2],
        count: h[3],
        interval,
    })
}

/// Length of the message `count` addresses make: v2 8 + 4n + 8 auth (RFC 3768 §5.3.10),
/// v3 over IPv4 8 + 4n, over IPv6 8 + 16n (RFC 5798 §5.2).
#[inline(always)]
pub fn message_len(version: u8, family: Family, count: u8) -> usize {
    let n = count as usize;
    match (version, family) {
        (2, _) => VRRP_HLEN + 4 * n + 8,
        (_, Family::V4) => VRRP_HLEN + 4 * n,
        (_, Family::V6) => VRRP_HLEN + 16 * n,
    }
}

/// Word sum of the v3 pseudo-header (RFC 5798 §5.2.8: the IPv4 pseudo-header of RFC 768 or the
/// IPv6 one of RFC 8200 §8.1) without the addresses, which the caller sums: length and protocol.
#[inline(always)]
pub fn pseudo_tail(len: usize) -> u32 {
    len as u32 + u32::from(IPPROTO_VRRP)
}

/// Word sum of the VRRP message at `off`, `len` bytes (checksum field included), and its
/// `advert_digest` for advert absorption. The caller adds the pseudo-header for v3 (RFC 5798
/// §5.2.8) or not for v2 (RFC 3768 §5.3.8) and checks it with `csum::is_valid`. `None` if the
/// region could not be summed (outside the frame or longer than [`csum::MAX_SUM_BYTES`]).
#[inline(always)]
pub fn checksum_sums(ctx: &XdpContext, off: usize, len: usize) -> Option<(u32, u32)> {
    csum::sum_and_digest(ctx, off, len)
}
