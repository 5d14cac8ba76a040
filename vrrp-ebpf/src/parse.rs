//! Bounds-checked accessors over XDP packet memory. Every packet read and write of the program
//! goes through [`ptr_at`], which proves `offset + size_of::<T>() <= len` to the verifier before
//! handing out a pointer; reads are unaligned byte copies (no alignment assumptions).

use aya_ebpf::programs::XdpContext;
use core::mem::size_of;

/// Ethernet header length (no VLAN tag: tagged frames are passed before any deeper parsing).
pub const ETH_HLEN: usize = 14;
/// Offset of the ethertype in the Ethernet header.
pub const ETH_TYPE_OFF: usize = 12;
/// Offset of the Ethernet source address.
pub const ETH_SRC_OFF: usize = 6;

/// A pointer to `T` at `off` bytes into the frame, if the whole `T` lies inside it.
#[inline(always)]
pub fn ptr_at<T>(ctx: &XdpContext, off: usize) -> Option<*mut T> {
    let start = ctx.data();
    let end = ctx.data_end();
    if start + off + size_of::<T>() > end {
        return None;
    }
    Some((start + off) as *mut T)
}

/// Copies a `T` (a byte array in practice) out of the frame at `off`.
#[inline(always)]
pub fn read<T: Copy>(ctx: &XdpContext, off: usize) -> Option<T> {
    let p = ptr_at::<T>(ctx, off)?;
    // SAFETY: `ptr_at` proved the bytes lie inside the packet; read_unaligned has no alignment need.
    Some(unsafe { p.read_unaligned() })
}

/// The byte at `off`.
#[inline(always)]
pub fn u8_at(ctx: &XdpContext, off: usize) -> Option<u8> {
    read::<u8>(ctx, off)
}

/// The big-endian 16-bit field at `off`.
#[inline(always)]
pub fn be16_at(ctx: &XdpContext, off: usize) -> Option<u16> {
    read::<[u8; 2]>(ctx, off).map(u16::from_be_bytes)
}

/// Like [`be16_at`] but with `data`/`data_end` re-read through volatile loads, so a loop's
/// bounds checks stay plain pointer comparisons the verifier understands.
#[inline(always)]
pub fn be16_at_fresh(ctx: &XdpContext, off: usize) -> Option<u16> {
    // SAFETY: `ctx.ctx` is the valid xdp_md the kernel passed to the program.
    let (start, end) = unsafe {
        (
            core::ptr::read_volatile(&raw const (*ctx.ctx).data) as usize,
            core::ptr::read_volatile(&raw const (*ctx.ctx).data_end) as usize,
        )
    };
    let p = start + off;
    if p + 2 > end {
        return None;
    }
    // SAFETY: the two bytes at `p` lie inside the packet.
    Some(u16::from_be_bytes(unsafe {
        (p as *const [u8; 2]).read_unaligned()
    }))
}

/// Frame length in bytes, for length comparisons only (never to bound an access).
///
/// The ends are read with volatile loads so LLVM cannot combine a length test here with a later
/// [`ptr_at`] check and delete that check as implied: the verifier only trusts comparisons of
/// packet pointers against `data_end`, not arithmetic on lengths.
#[inline(always)]
pub fn frame_len(ctx: &XdpContext) -> usize {
    // SAFETY: `ctx.ctx` is the valid xdp_md the kernel passed to the program.
    let (start, end) = unsafe {
        (
            core::ptr::read_volatile(&raw const (*ctx.ctx).data),
            core::ptr::read_volatile(&raw const (*ctx.ctx).data_end),
        )
    };
    end.wrapping_sub(start) as usize
}

/// Writes `bytes` at `base + off`; the caller has bounds-checked `base` for the whole region.
///
/// # Safety
/// `base + off .. base + off + N` must lie inside the packet (proved by an enclosing `ptr_at`).
#[inline(always)]
pub unsafe fn put<const N: usize>(base: *mut u8, off: usize, bytes: [u8; N]) {
    // SAFETY: guaranteed by the caller.
    unsafe { base.add(off).cast::<[u8; N]>().write_unaligned(bytes) }
}

/// Reads `N` bytes at `base + off`; the caller has bounds-checked `base` for the whole region.
///
/// # Safety
/// `base + off .. base + off + N` must lie inside the packet (proved by an enclosing `ptr_at`).
#[inline(always)]
pub unsafe fn get<const N: usize>(base: *const u8, off: usize) -> [u8; N] {
    // SAFETY: guaranteed by the caller.
    unsafe { base.add(off).cast::<[u8; N]>().read_unaligned() }
}

/// IPv6 header offset and fixed length.
pub const IP6_OFF: usize = ETH_HLEN;
/// Fixed IPv6 header length (RFC 8200 §3).
pub const IP6_HLEN: usize = 40;
/// Most extension headers walked before the upper-layer header; a chain longer than this is
/// passed untouched (the stack parses it).
pub const MAX_EXT_HEADERS: usize = 4;

/// Where an IPv6 packet's upper-layer header starts, after walking extension headers. A plain
/// struct (no enum payload) so LLVM keeps it in registers and the verifier keeps its bounds.
#[derive(Clone, Copy)]
pub struct Ipv6Upper {
    /// [`WALK_OK`], [`WALK_TRUNCATED`] or [`WALK_UNWALKED`].
    pub status: u8,
    /// Upper-layer protocol (next header of the last extension header).
    pub proto: u8,
    /// A Fragment header was crossed (RFC 8200 §4.5).
    pub fragment: bool,
    /// Offset of the upper-layer header from the frame start.
    pub off: usize,
}

/// The upper-layer header was found.
pub const WALK_OK: u8 = 0;
/// The frame ends inside the IPv6 header or an extension header.
pub const WALK_TRUNCATED: u8 = 1;
/// More than [`MAX_EXT_HEADERS`] extension headers: not walked (the stack parses them).
pub const WALK_UNWALKED: u8 = 2;

/// Walks Hop-by-Hop (0), Routing (43), Fragment (44) and Destination Options (60) headers
/// (RFC 8200 §4), at most [`MAX_EXT_HEADERS`] of them. Other next headers (AH, ESP, upper
/// layers) end the walk.
#[inline(always)]
pub fn ipv6_upper(ctx: &XdpContext) -> Ipv6Upper {
    let mut up = Ipv6Upper {
        status: WALK_OK,
        proto: 0,
        fragment: false,
        off: IP6_OFF + IP6_HLEN,
    };
    let Some(nh) = u8_at(ctx, IP6_OFF + 6) else {
        up.status = WALK_TRUNCATED;
        return up;
    };
    up.proto = nh;
    let mut i = 0;
    while i < MAX_EXT_HEADERS {
        let step = match up.proto {
            0 | 43 | 60 => {
                let Some(h) = read::<[u8; 2]>(ctx, up.off) else {
                    up.status = WALK_TRUNCATED;
                    return up;
                };
                up.proto = h[0];
                (h[1] as usize + 1) * 8
            }
            44 => {
                let Some(h) = read::<[u8; 8]>(ctx, up.off) else {
                    up.status = WALK_TRUNCATED;
                    return up;
                };
                up.proto = h[0];
                up.fragment = true;
                8
            }
            _ => return up,
        };
        up.off += step;
        i += 1;
    }
    if matches!(up.proto, 0 | 43 | 44 | 60) {
        up.status = WALK_UNWALKED;
    }
    up
}
