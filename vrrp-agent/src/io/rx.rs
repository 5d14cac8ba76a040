//! `AdvertReceiver`: raw IP sockets for protocol 112 that deliver VRRP adverts with the metadata
//! the daemon needs to validate them (arrival interface, source, destination, TTL / hop limit).
//!
//! No protocol decision is made here: adverts with TTL 254 or from unknown peers are returned as
//! they arrived, the daemon drops and counts them (RFC 5798 §7.1). Only packets the kernel handed
//! over in a shape we cannot describe (truncated, bad IPv4 header, missing ancillary data) become
//! [`RxError`] values; the socket stays usable after them.
//!
//! - IPv4: `AF_INET/SOCK_RAW/112` hands over the IP header with the payload: source, destination and
//!   TTL are read from the header as received; the arrival interface from `IP_PKTINFO`.
//! - IPv6: `AF_INET6/SOCK_RAW/112` strips the header: the hop limit comes from `IPV6_HOPLIMIT`
//!   ancillary data (RFC 5798 §7.1 requires checking it; RFC 3542 §6.3), destination and interface
//!   from `IPV6_PKTINFO`, source from the socket address.
//!
//! `IP_MULTICAST_ALL` / `IPV6_MULTICAST_ALL` are turned off so only groups joined through this
//! socket count, and multicast loop is off in case the socket is ever used to send. Unicast
//! adverts to one of our addresses arrive on the same socket with `dst` = that address.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use tokio::io::unix::AsyncFd;
use vrrp_common::proto::{IPPROTO_VRRP, VRRP_GROUP_V4, VRRP_GROUP_V6};

/// Receive buffer: the largest VRRP message (255 IPv6 addresses, 4088 bytes) plus headers, with
/// room to spare; larger datagrams are reported as [`RxError::Truncated`].
const RX_BUF: usize = 9216;
/// `IPV6_MULTICAST_ALL` (linux/in6.h); not exported by every libc version.
const IPV6_MULTICAST_ALL: libc::c_int = 29;

/// An advert as received, before any VRRP validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedAdvert {
    /// Interface the packet arrived on (from IP_PKTINFO / IPV6_PKTINFO).
    pub ifindex: u32,
    /// IP source address.
    pub src: IpAddr,
    /// IP destination: 224.0.0.18 / ff02::12, or our own address for unicast adverts.
    pub dst: IpAddr,
    /// TTL (IPv4 header) or hop limit (IPV6_HOPLIMIT ancillary data) as received.
    pub ttl: u8,
    /// The VRRP message: the IP payload, IP header removed.
    pub payload: Vec<u8>,
}

/// A receive failure.
#[derive(Debug, thiserror::Error)]
pub enum RxError {
    /// The socket itself failed (creation, option, join, or receive).
    #[error("{op}: {source}")]
    Io {
        /// What was attempted.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A datagram larger than the receive buffer; its tail was discarded.
    #[error("datagram truncated to {0} bytes")]
    Truncated(usize),
    /// The IPv4 header handed over by the kernel is not one we can parse.
    #[error("malformed IPv4 header: {0}")]
    Malformed(&'static str),
    /// The kernel did not attach the ancillary data we asked for.
    #[error("missing ancillary data: {0}")]
    MissingAncillary(&'static str),
}

impl RxError {
    /// True for errors about one packet: the socket is fine, keep receiving.
    pub fn is_per_packet(&self) -> bool {
        !matches!(self, RxError::Io { .. })
    }
}

fn os_err(op: &'static str) -> RxError {
    RxError::Io {
        op,
        source: io::Error::last_os_error(),
    }
}

/// Parses an IPv4 header as delivered by a raw socket (checksum already verified by the kernel)
/// and returns (source, destination, TTL, payload range). The payload ends at the header's total
/// length, never beyond the buffer.
pub fn parse_ipv4(buf: &[u8]) -> Result<(Ipv4Addr, Ipv4Addr, u8, std::ops::Range<usize>), RxError> {
    let b0 = *buf.first().ok_or(RxError::Malformed("empty datagram"))?;
    if b0 >> 4 != 4 {
        return Err(RxError::Malformed("version is not 4"));
    }
    let ihl = usize::from(b0 & 0x0f) * 4;
    if ihl < 20 {
        return Err(RxError::Malformed("IHL below 5"));
    }
    if buf.len() < ihl {
        return Err(RxError::Malformed("shorter than its IHL"));
    }
    let total = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
    // Linux raw sockets deliver the total length in network order as on the wire.
    if total < ihl || total > buf.len() {
        return Err(RxError::Malformed(
            "total length inconsistent with datagram",
        ));
    }
    let src = Ipv4Addr::new(buf[12], buf[13], buf[14], buf[15]);
    let dst = Ipv4Addr::new(buf[16], buf[17], buf[18], buf[19]);
    Ok((src, dst, buf[8], ihl..total))
}

/// Socket receive buffer asked for (bytes; the kernel doubles it for bookkeeping).
const RX_SOCKBUF: i32 = 8 << 20;

/// Receives VRRP adverts of one address family on any interface it joined.
#[derive(Debug)]
pub struct AdvertReceiver {
    fd: AsyncFd<OwnedFd>,
    v6: bool,
    buf: Vec<u8>,
}

fn setsockopt_int(
    fd: &OwnedFd,
    level: i32,
    name: i32,
    val: i32,
    op: &'static str,
) -> Result<(), RxError> {
    // SAFETY: val lives across the call and the length matches.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const val).cast(),
            size_of::<i32>() as libc::socklen_t,
        )
    };
    if r < 0 { Err(os_err(op)) } else { Ok(()) }
}

fn raw_socket(domain: i32) -> Result<OwnedFd, RxError> {
    // SAFETY: plain socket(2) call; the result is checked.
    let raw = unsafe {
        libc::socket(
            domain,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            i32::from(IPPROTO_VRRP),
        )
    };
    if raw < 0 {
        return Err(os_err("socket(SOCK_RAW, 112)"));
    }
    // SAFETY: fresh descriptor we own.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

impl AdvertReceiver {
    /// Opens the IPv4 receiver (needs CAP_NET_RAW and a tokio runtime with I/O enabled).
    pub fn open_v4() -> Result<Self, RxError> {
        let fd = raw_socket(libc::AF_INET)?;
        setsockopt_int(&fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1, "IP_PKTINFO")?;
        setsockopt_int(
            &fd,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_LOOP,
            0,
            "IP_MULTICAST_LOOP",
        )?;
        setsockopt_int(
            &fd,
            libc::IPPROTO_IP,
            libc::IP_MULTICAST_ALL,
            0,
            "IP_MULTICAST_ALL",
        )?;
        Self::wrap(fd, false)
    }

    /// Opens the IPv6 receiver (needs CAP_NET_RAW and a tokio runtime with I/O enabled).
    pub fn open_v6() -> Result<Self, RxError> {
        let fd = raw_socket(libc::AF_INET6)?;
        setsockopt_int(
            &fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVPKTINFO,
            1,
            "IPV6_RECVPKTINFO",
        )?;
        setsockopt_int(
            &fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_RECVHOPLIMIT,
            1,
            "IPV6_RECVHOPLIMIT",
        )?;
        setsockopt_int(
            &fd,
            libc::IPPROTO_IPV6,
            libc::IPV6_MULTICAST_LOOP,
            0,
            "IPV6_MULTICAST_LOOP",
        )?;
        setsockopt_int(
            &fd,
            libc::IPPROTO_IPV6,
            IPV6_MULTICAST_ALL,
            0,
            "IPV6_MULTICAST_ALL",
        )?;
        Self::wrap(fd, true)
    }

    fn wrap(fd: OwnedFd, v6: bool) -> Result<Self, RxError> {
        // A Master of 255 instances sends its adverts in one burst; a Backup of 1,000 instances
        // over four interfaces takes 100,000 a second. The default receive buffer (~212 KB, ~300
        // small packets) overflows on one late wake-up, and every lost advert brings a Backup a
        // third of the way to a spurious takeover (RFC 5798 §6.1 Master_Down_Interval). Ask for
        // 8 MiB regardless of rmem_max (we run with CAP_NET_ADMIN); fall back to what rmem_max
        // allows.
        if setsockopt_int(
            &fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUFFORCE,
            RX_SOCKBUF,
            "SO_RCVBUFFORCE",
        )
        .is_err()
        {
            setsockopt_int(
                &fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                RX_SOCKBUF,
                "SO_RCVBUF",
            )?;
        }
        // SAFETY: OwnedFd always returns the same open descriptor and is only closed when the
        // AsyncFd drops it.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(|e| RxError::Io {
                op: "register with tokio",
                source: e.into(),
            })?;
        Ok(Self {
            fd,
            v6,
            buf: vec![0; RX_BUF],
        })
    }

    /// True for the IPv6 receiver.
    pub fn is_v6(&self) -> bool {
        self.v6
    }

    fn membership(&self, ifindex: u32, join: bool) -> Result<(), RxError> {
        let fd = self.fd.get_ref().as_raw_fd();
        let r = if self.v6 {
            let mreq = libc::ipv6_mreq {
                ipv6mr_multiaddr: libc::in6_addr {
                    s6_addr: VRRP_GROUP_V6,
                },
                ipv6mr_interface: ifindex,
            };
            let name = if join {
                libc::IPV6_ADD_MEMBERSHIP
            } else {
                libc::IPV6_DROP_MEMBERSHIP
            };
            // SAFETY: mreq lives across the call and the length matches.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_IPV6,
                    name,
                    (&raw const mreq).cast(),
                    size_of::<libc::ipv6_mreq>() as libc::socklen_t,
                )
            }
        } else {
            let mreq = libc::ip_mreqn {
                imr_multiaddr: libc::in_addr {
                    s_addr: u32::from_ne_bytes(VRRP_GROUP_V4),
                },
                imr_address: libc::in_addr { s_addr: 0 },
                // Interface indexes are positive ints in the kernel.
                imr_ifindex: ifindex as i32,
            };
            let name = if join {
                libc::IP_ADD_MEMBERSHIP
            } else {
                libc::IP_DROP_MEMBERSHIP
            };
            // SAFETY: mreq lives across the call and the length matches.
            unsafe {
                libc::setsockopt(
                    fd,
                    libc::IPPROTO_IP,
                    name,
                    (&raw const mreq).cast(),
                    size_of::<libc::ip_mreqn>() as libc::socklen_t,
                )
            }
        };
        if r < 0 {
            Err(os_err(if join {
                "join VRRP group"
            } else {
                "leave VRRP group"
            }))
        } else {
            Ok(())
        }
    }

    /// Joins 224.0.0.18 or ff02::12 on interface `ifindex` (RFC 5798 §5.1.1.2, §5.1.2.2).
    pub fn join(&self, ifindex: u32) -> Result<(), RxError> {
        self.membership(ifindex, true)
    }

    /// Leaves the VRRP group on interface `ifindex`.
    pub fn leave(&self, ifindex: u32) -> Result<(), RxError> {
        self.membership(ifindex, false)
    }

    /// Waits for the next advert. Per-packet errors ([`RxError::is_per_packet`]) leave the socket
    /// usable: call again.
    pub async fn recv(&mut self) -> Result<ReceivedAdvert, RxError> {
        loop {
            let mut guard = self.fd.readable().await.map_err(|source| RxError::Io {
                op: "poll readable",
                source,
            })?;
            let v6 = self.v6;
            let buf = &mut self.buf;
            match guard.try_io(|fd| recv_one(fd.get_ref(), v6, buf)) {
                Ok(Ok(r)) => return r,
                Ok(Err(source)) => {
                    return Err(RxError::Io {
                        op: "recvmsg",
                        source,
                    });
                }
                Err(_would_block) => continue,
            }
        }
    }
}

impl AdvertReceiver {
    /// The next advert already queued on the socket, without waiting: `None` when the queue is
    /// empty. The event loop drains a burst with it, so that the per-turn work (deadlines of
    /// every instance) is paid once per burst, not once per advert.
    pub fn try_recv(&mut self) -> Option<Result<ReceivedAdvert, RxError>> {
        // The socket is non-blocking (SOCK_NONBLOCK). Reading past the AsyncFd guard leaves its
        // readiness set; the next `recv` then sees WouldBlock once and clears it.
        match recv_one(self.fd.get_ref(), self.v6, &mut self.buf) {
            Ok(r) => Some(r),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => None,
            Err(source) => Some(Err(RxError::Io {
                op: "recvmsg",
                source,
            })),
        }
    }
}

/// Ancillary data buffer, aligned for `cmsghdr`.
#[repr(C, align(8))]
struct Cmsg([u8; 256]);

/// One `recvmsg`. The outer `io::Result` is the syscall (WouldBlock included, for `try_io`); the
/// inner one is the packet's own fate.
fn recv_one(fd: &OwnedFd, v6: bool, buf: &mut [u8]) -> io::Result<Result<ReceivedAdvert, RxError>> {
    let mut cmsg = Cmsg([0; 256]);
    // SAFETY: sockaddr_storage is plain old data.
    let mut name: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain old data; fields set below point to live buffers.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&raw mut name).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    msg.msg_iov = &raw mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.0.as_mut_ptr().cast();
    msg.msg_controllen = cmsg.0.len();
    // SAFETY: msg describes valid buffers that outlive the call.
    let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &raw mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // n >= 0 checked above.
    let n = n as usize;
    if msg.msg_flags & libc::MSG_TRUNC != 0 {
        return Ok(Err(RxError::Truncated(n)));
    }
    let data = &buf[..n.min(buf.len())];

    let mut ifindex = None;
    let mut pkt_dst6 = None;
    let mut hoplimit = None;
    // SAFETY: msg was filled by recvmsg; the CMSG_* macros walk within msg_controllen and every
    // cmsg is checked for its level, type and length before its data is read (unaligned).
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&raw const msg);
        while !c.is_null() {
            let hdr = &*c;
            let data_ptr = libc::CMSG_DATA(c);
            let data_len = hdr.cmsg_len.saturating_sub(libc::CMSG_LEN(0) as usize);
            match (hdr.cmsg_level, hdr.cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO)
                    if data_len >= size_of::<libc::in_pktinfo>() =>
                {
                    let info: libc::in_pktinfo = std::ptr::read_unaligned(data_ptr.cast());
                    ifindex = u32::try_from(info.ipi_ifindex).ok();
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO)
                    if data_len >= size_of::<libc::in6_pktinfo>() =>
                {
                    let info: libc::in6_pktinfo = std::ptr::read_unaligned(data_ptr.cast());
                    ifindex = Some(info.ipi6_ifindex);
                    pkt_dst6 = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT)
                    if data_len >= size_of::<libc::c_int>() =>
                {
                    let h: libc::c_int = std::ptr::read_unaligned(data_ptr.cast());
                    hoplimit = u8::try_from(h).ok();
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(&raw const msg, c);
        }
    }
    let Some(ifindex) = ifindex else {
        return Ok(Err(RxError::MissingAncillary(
            "packet info (arrival interface)",
        )));
    };

    if !v6 {
        return Ok(
            parse_ipv4(data).map(|(src, dst, ttl, range)| ReceivedAdvert {
                ifindex,
                src: IpAddr::V4(src),
                dst: IpAddr::V4(dst),
                ttl,
                payload: data[range].to_vec(),
            }),
        );
    }
    let Some(ttl) = hoplimit else {
        return Ok(Err(RxError::MissingAncillary("IPV6_HOPLIMIT")));
    };
    let Some(dst) = pkt_dst6 else {
        return Ok(Err(RxError::MissingAncillary("IPV6_PKTINFO destination")));
    };
    if i32::from(name.ss_family) != libc::AF_INET6 {
        return Ok(Err(RxError::MissingAncillary("IPv6 source address")));
    }
    // SAFETY: the kernel wrote a sockaddr_in6 (family checked) into the storage, which is large
    // and aligned enough for it.
    let sin6: libc::sockaddr_in6 = unsafe { std::ptr::read((&raw const name).cast()) };
    Ok(Ok(ReceivedAdvert {
        ifindex,
        src: IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)),
        dst: IpAddr::V6(dst),
        ttl,
        payload: data.to_vec(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOLDEN_V3: [u8; 32] = [
        0x45, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0xd0, 0x2c, 0x0a, 0x63, 0x00,
        0x0b, 0xe0, 0x00, 0x00, 0x12, 0x31, 0x33, 0x96, 0x01, 0x00, 0x64, 0x42, 0xa3, 0x0a, 0x63,
        0x00, 0x64,
    ];

    #[test]
    fn parse_ipv4_reads_source_destination_ttl_and_payload() {
        let (src, dst, ttl, range) = parse_ipv4(&GOLDEN_V3).expect("golden header");
        assert_eq!(src, Ipv4Addr::new(10, 99, 0, 11));
        assert_eq!(dst, Ipv4Addr::new(224, 0, 0, 18));
        assert_eq!(ttl, 255);
        assert_eq!(range, 20..32);
    }

    #[test]
    fn parse_ipv4_skips_options_and_ignores_trailing_bytes() {
        let mut p = GOLDEN_V3.to_vec();
        // IHL 6: one 4-byte option (NOPs), total length 36, plus 3 stray bytes after it.
        p[0] = 0x46;
        p[2..4].copy_from_slice(&36u16.to_be_bytes());
        p.splice(20..20, [1, 1, 1, 1]);
        p.extend_from_slice(&[9, 9, 9]);
        let (_, _, _, range) = parse_ipv4(&p).expect("valid header");
        assert_eq!(range, 24..36);
        assert_eq!(&p[range], &GOLDEN_V3[20..]);
    }

    #[test]
    fn parse_ipv4_rejects_malformed_headers_without_panicking() {
        assert!(matches!(
            parse_ipv4(&[]),
            Err(RxError::Malformed("empty datagram"))
        ));
        let mut v6 = GOLDEN_V3;
        v6[0] = 0x65;
        assert!(matches!(
            parse_ipv4(&v6),
            Err(RxError::Malformed("version is not 4"))
        ));
        let mut short_ihl = GOLDEN_V3;
        short_ihl[0] = 0x44;
        assert!(matches!(
            parse_ipv4(&short_ihl),
            Err(RxError::Malformed("IHL below 5"))
        ));
        assert!(matches!(
            parse_ipv4(&GOLDEN_V3[..19]),
            Err(RxError::Malformed("shorter than its IHL"))
        ));
        let mut long = GOLDEN_V3;
        long[3] = 0x21; // total length 33 > 32 bytes received
        assert!(matches!(
            parse_ipv4(&long),
            Err(RxError::Malformed(
                "total length inconsistent with datagram"
            ))
        ));
        let mut tiny = GOLDEN_V3;
        tiny[3] = 0x13; // total length 19 < IHL
        assert!(matches!(
            parse_ipv4(&tiny),
            Err(RxError::Malformed(
                "total length inconsistent with datagram"
            ))
        ));
    }

    #[test]
    fn parse_ipv4_rejects_every_truncation_of_a_valid_packet() {
        for n in 0..GOLDEN_V3.len() {
            assert!(
                parse_ipv4(&GOLDEN_V3[..n]).is_err(),
                "prefix of {n} bytes accepted"
            );
        }
    }
}
