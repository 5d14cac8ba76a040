//! `PacketSender`: an AF_PACKET raw socket that sends whole Ethernet frames (built by
//! [`super::frame`]) out of one interface, one at a time or in a `sendmmsg` batch.
//!
//! Why AF_PACKET: adverts, gratuitous ARP and NAs must leave with the virtual MAC as Ethernet
//! source (RFC 5798 §7.3; §8.1.2 and §8.2.2 for ARP / ND answers), which the IP stack cannot do
//! without a macvlan per VRID.
//!
//! Blocking model: the socket is non-blocking and sends are plain synchronous calls, safe to make
//! from a tokio task. A frame is queued into the socket send buffer (hundreds of frames fit) or
//! the call fails at once with `EAGAIN` ([`TxError::is_would_block`]); it never parks the runtime.
//! A dropped advert is tolerated by the protocol (Master_Down_Interval is three adverts, RFC 5798
//! §6.1), so the caller counts it rather than waits.
//!
//! The socket is created with protocol 0, so the kernel queues no received frames to it.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// Largest number of messages handed to one `sendmmsg` call (the kernel's UIO_MAXIOV).
const MAX_BATCH: usize = 1024;

/// A failed send or open, with the interface and the operation.
#[derive(Debug, thiserror::Error)]
#[error("{op} on interface {ifname}: {source} ({sent} frame(s) of the batch sent before)")]
pub struct TxError {
    /// Interface name the sender is bound to.
    pub ifname: String,
    /// What was attempted: "socket", "if_nametoindex", "send", "sendmmsg".
    pub op: &'static str,
    /// Frames of the batch already handed to the kernel before the failure (0 for single sends).
    pub sent: usize,
    /// The OS error.
    #[source]
    pub source: io::Error,
}

impl TxError {
    /// True if the socket buffer was full (`EAGAIN`): the frame was not sent, nothing is broken.
    pub fn is_would_block(&self) -> bool {
        self.source.kind() == io::ErrorKind::WouldBlock
    }
}

/// Sends complete Ethernet frames out of one interface.
#[derive(Debug)]
pub struct PacketSender {
    fd: OwnedFd,
    ifindex: u32,
    ifname: String,
}

impl PacketSender {
    /// Opens a sender on the interface `ifname` (in the caller's network namespace).
    pub fn open(ifname: &str) -> Result<Self, TxError> {
        let err = |op, source| TxError {
            ifname: ifname.to_owned(),
            op,
            sent: 0,
            source,
        };
        let c = CString::new(ifname).map_err(|_| {
            err(
                "if_nametoindex",
                io::Error::from(io::ErrorKind::InvalidInput),
            )
        })?;
        // SAFETY: c is a valid NUL-terminated string.
        let ifindex = unsafe { libc::if_nametoindex(c.as_ptr()) };
        if ifindex == 0 {
            return Err(err("if_nametoindex", io::Error::last_os_error()));
        }
        Self::open_index(ifindex, ifname)
    }

    /// Opens a sender on interface index `ifindex`; `ifname` is only used in error messages.
    pub fn open_index(ifindex: u32, ifname: &str) -> Result<Self, TxError> {
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(TxError {
                ifname: ifname.to_owned(),
                op: "socket(AF_PACKET)",
                sent: 0,
                source: io::Error::last_os_error(),
            });
        }
        // SAFETY: raw is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(Self {
            fd,
            ifindex,
            ifname: ifname.to_owned(),
        })
    }

    /// Interface index frames are sent out of.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Interface name given at open.
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    fn error(&self, op: &'static str, sent: usize, source: io::Error) -> TxError {
        TxError {
            ifname: self.ifname.clone(),
            op,
            sent,
            source,
        }
    }

    /// Link-layer destination for one frame: the interface, the frame's ethertype and its
    /// destination MAC. `None` if the frame is shorter than an Ethernet header.
    fn sockaddr(&self, frame: &[u8]) -> Option<libc::sockaddr_ll> {
        let (dst, ethertype) = (frame.get(0..6)?, frame.get(12..14)?);
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut sa: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sa.sll_family = libc::AF_PACKET as u16;
        // sll_protocol is in network byte order: keep the frame's bytes as they are.
        sa.sll_protocol = u16::from_ne_bytes([ethertype[0], ethertype[1]]);
        // Interface indexes are positive ints in the kernel.
        sa.sll_ifindex = self.ifindex as i32;
        sa.sll_halen = 6;
        sa.sll_addr[..6].copy_from_slice(dst);
        Some(sa)
    }

    /// Sends one frame (Ethernet header included).
    pub fn send(&self, frame: &[u8]) -> Result<(), TxError> {
        let sa = self
            .sockaddr(frame)
            .ok_or_else(|| self.error("send", 0, io::Error::from(io::ErrorKind::InvalidInput)))?;
        // SAFETY: frame and sa are valid for the duration of the call; lengths match.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&raw const sa).cast(),
                size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(self.error("send", 0, io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Sends several frames with as few `sendmmsg(2)` calls as possible (one per 1024 frames)
    /// and returns how many calls it took. On failure, [`TxError::sent`] tells how many frames
    /// (from the start) left.
    pub fn send_batch(&self, frames: &[&[u8]]) -> Result<usize, TxError> {
        let mut done = 0;
        let mut calls = 0;
        while done < frames.len() {
            let chunk = &frames[done..frames.len().min(done + MAX_BATCH)];
            let mut addrs = Vec::with_capacity(chunk.len());
            for f in chunk {
                let sa = self.sockaddr(f).ok_or_else(|| {
                    self.error(
                        "sendmmsg",
                        done,
                        io::Error::from(io::ErrorKind::InvalidInput),
                    )
                })?;
                addrs.push(sa);
            }
            let mut iovs: Vec<libc::iovec> = chunk
                .iter()
                .map(|f| libc::iovec {
                    iov_base: f.as_ptr().cast_mut().cast(),
                    iov_len: f.len(),
                })
                .collect();
            let mut msgs: Vec<libc::mmsghdr> = iovs
                .iter_mut()
                .zip(addrs.iter_mut())
                .map(|(iov, sa)| {
                    // SAFETY: msghdr is plain old data; all-zero is valid (no control data).
                    let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
                    hdr.msg_name = (sa as *mut libc::sockaddr_ll).cast();
                    hdr.msg_namelen = size_of::<libc::sockaddr_ll>() as libc::socklen_t;
                    hdr.msg_iov = iov;
                    hdr.msg_iovlen = 1;
                    libc::mmsghdr {
                        msg_hdr: hdr,
                        msg_len: 0,
                    }
                })
                .collect();
            // SAFETY: msgs points into iovs/addrs/frames, all alive across the call; the
            // count is the vector's length (<= MAX_BATCH, fits in u32).
            let n = unsafe {
                libc::sendmmsg(self.fd.as_raw_fd(), msgs.as_mut_ptr(), msgs.len() as u32, 0)
            };
            calls += 1;
            if n < 0 {
                return Err(self.error("sendmmsg", done, io::Error::last_os_error()));
            }
            // n >= 0 checked above; sendmmsg returns at most msgs.len().
            let n = n as usize;
            if n == 0 {
                return Err(self.error(
                    "sendmmsg",
                    done,
                    io::Error::from(io::ErrorKind::WriteZero),
                ));
            }
            done += n;
        }
        Ok(calls)
    }
}
