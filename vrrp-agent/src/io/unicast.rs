//! Unicast adverts (keepalived `unicast_peer`): a raw IP socket per family bound to the VRRP
//! interface, TTL / hop limit 255 and TOS / traffic class 0xc0 (RFC 5798 §5.1.1.3, §5.1.2.3);
//! the kernel resolves the peer's MAC and builds the IP header. No protocol decisions here.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};

use vrrp_common::proto::{IPPROTO_VRRP, VRRP_TOS, VRRP_TTL};

/// A raw protocol-112 socket used only to send.
#[derive(Debug)]
pub struct UnicastSender {
    fd: OwnedFd,
    v6: bool,
}

fn check(r: libc::c_int, op: &str) -> io::Result<libc::c_int> {
    if r < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(e.kind(), format!("{op}: {e}")));
    }
    Ok(r)
}

fn setsockopt_int(
    fd: &OwnedFd,
    level: libc::c_int,
    name: libc::c_int,
    v: libc::c_int,
    op: &str,
) -> io::Result<()> {
    // SAFETY: a valid fd and a pointer to a live c_int of the size given.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const v).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    check(r, op).map(drop)
}

impl UnicastSender {
    /// Opens the socket for IPv4 (`v6 = false`) or IPv6 on interface `ifname`.
    pub fn open(ifname: &str, v6: bool) -> io::Result<UnicastSender> {
        let domain = if v6 { libc::AF_INET6 } else { libc::AF_INET };
        // SAFETY: plain socket(2) call; the result is checked before use.
        let raw = check(
            unsafe {
                libc::socket(
                    domain,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                    i32::from(IPPROTO_VRRP),
                )
            },
            "socket(SOCK_RAW, 112)",
        )?;
        // SAFETY: `raw` is a fresh descriptor we own.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let dev = ifname.as_bytes();
        // SAFETY: the name buffer outlives the call and its length is passed.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_BINDTODEVICE,
                dev.as_ptr().cast(),
                dev.len() as libc::socklen_t,
            )
        };
        check(r, &format!("SO_BINDTODEVICE {ifname}"))?;
        if v6 {
            setsockopt_int(
                &fd,
                libc::IPPROTO_IPV6,
                libc::IPV6_UNICAST_HOPS,
                i32::from(VRRP_TTL),
                "IPV6_UNICAST_HOPS",
            )?;
            setsockopt_int(
                &fd,
                libc::IPPROTO_IPV6,
                libc::IPV6_TCLASS,
                i32::from(VRRP_TOS),
                "IPV6_TCLASS",
            )?;
        } else {
            setsockopt_int(
                &fd,
                libc::IPPROTO_IP,
                libc::IP_TTL,
                i32::from(VRRP_TTL),
                "IP_TTL",
            )?;
            setsockopt_int(
                &fd,
                libc::IPPROTO_IP,
                libc::IP_TOS,
                i32::from(VRRP_TOS),
                "IP_TOS",
            )?;
        }
        Ok(UnicastSender { fd, v6 })
    }

    /// Sends `vrrp` (a whole VRRP message, checksum computed for `src` -> `dst`) to `dst`,
    /// from `src` when given (it must be an address of the interface).
    pub fn send(&self, src: Option<IpAddr>, dst: IpAddr, vrrp: &[u8]) -> io::Result<()> {
        if dst.is_ipv6() != self.v6 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "peer family differs from the socket's",
            ));
        }
        if let Some(src) = src {
            self.bind_once(src)?;
        }
        let sa: nix::sys::socket::SockaddrStorage = SocketAddr::new(dst, 0).into();
        nix::sys::socket::sendto(
            self.fd.as_raw_fd(),
            vrrp,
            &sa,
            nix::sys::socket::MsgFlags::empty(),
        )
        .map(drop)
        .map_err(|e| io::Error::from_raw_os_error(e as i32))
    }

    fn bind_once(&self, src: IpAddr) -> io::Result<()> {
        let sa: nix::sys::socket::SockaddrStorage = SocketAddr::new(src, 0).into();
        match nix::sys::socket::bind(self.fd.as_raw_fd(), &sa) {
            // Already bound to it (every send after the first).
            Ok(()) | Err(nix::errno::Errno::EINVAL) => Ok(()),
            Err(e) => Err(io::Error::new(
                io::Error::from_raw_os_error(e as i32).kind(),
                format!("bind {src}: {e}"),
            )),
        }
    }
}
