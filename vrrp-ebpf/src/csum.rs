//! The Internet checksum (RFC 1071) in a form the verifier accepts: sums of big-endian 16-bit
//! words held in a `u32`, a loop over packet memory bounded by a constant ([`MAX_SUM_BYTES`]) with a
//! bounds check on every word, and a fixed number of folds (no data-dependent loop).

use aya_ebpf::programs::XdpContext;

use crate::parse;

/// Longest region [`sum_and_digest`] will sum: a VRRP message in a 1500-byte IPv4 packet. Longer
/// adverts (only IPv6 with > 92 addresses could be) are rejected as bad length by the caller.
pub const MAX_SUM_BYTES: usize = 1480;

/// Sum of the big-endian 16-bit words of `bytes` (even length).
#[inline(always)]
pub fn sum_bytes<const N: usize>(bytes: &[u8; N]) -> u32 {
    let mut s = 0u32;
    let mut i = 0;
    while i + 1 < N {
        s += u32::from(u16::from_be_bytes([bytes[i], bytes[i + 1]]));
        i += 2;
    }
    s
}

/// Sum of the big-endian 16-bit words of the frame from `off`, `len` bytes (`len` even, at most
/// [`MAX_SUM_BYTES`]) and, in the same pass, `vrrp_common::maps::advert_digest` of the region:
/// `(sum, digest)`. `None` if the region leaves the frame or `len` is out of range.
#[inline(always)]
pub fn sum_and_digest(ctx: &XdpContext, off: usize, len: usize) -> Option<(u32, u32)> {
    if len > MAX_SUM_BYTES || len % 2 != 0 {
        return None;
    }
    let mut s = 0u32;
    let mut d = 0u32;
    let mut i = 0usize;
    // Bounded by the constant: the verifier sees at most MAX_SUM_BYTES / 2 iterations.
    while i < MAX_SUM_BYTES {
        if i >= len {
            break;
        }
        // Fresh (volatile) packet bounds each iteration: keeps LLVM from strength-reducing the
        // bounds check into arithmetic on data_end, which the verifier rejects.
        s = s.wrapping_add(u32::from(parse::be16_at_fresh(ctx, off + i)?));
        d = d.wrapping_add(s);
        i += 2;
    }
    Some((s, d))
}

/// Folds a 32-bit sum of 16-bit words into 16 bits with end-around carry (RFC 1071 §4.1).
/// Three folds suffice for any `u32`.
#[inline(always)]
pub fn fold(s: u32) -> u16 {
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// Whether a region whose word sum (checksum field included) is `s` carries a valid checksum.
#[inline(always)]
pub fn is_valid(s: u32) -> bool {
    fold(s) == 0xffff
}

/// The checksum field value for a region whose word sum (checksum field zero) is `s`.
#[inline(always)]
pub fn finish(s: u32) -> u16 {
    !fold(s)
}
