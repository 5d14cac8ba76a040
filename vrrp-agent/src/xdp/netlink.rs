//! XDP attach and detach through rtnetlink (RTM_SETLINK with a nested IFLA_XDP), not a bpf_link:
//! a netlink attachment stays on the interface when the agent dies, so the dead-man heartbeat (not
//! the process lifetime) decides when the data plane stops answering, and a restarted agent
//! replaces the orphaned program in one message.

use std::{
    io,
    os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd},
};

const NETLINK_ROUTE: i32 = 0;
const RTM_SETLINK: u16 = 19;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLMSG_ERROR: u16 = 2;
const NLA_F_NESTED: u16 = 0x8000;
const IFLA_XDP: u16 = 43;
const IFLA_XDP_FD: u16 = 1;
const IFLA_XDP_FLAGS: u16 = 3;
const IFLA_XDP_EXPECTED_FD: u16 = 8;

/// `XDP_FLAGS_SKB_MODE`: generic XDP.
pub const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
/// `XDP_FLAGS_DRV_MODE`: native XDP in the driver.
pub const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;
/// `XDP_FLAGS_REPLACE`: only act if `IFLA_XDP_EXPECTED_FD` is what is attached.
const XDP_FLAGS_REPLACE: u32 = 1 << 4;

fn push_attr(buf: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    buf.extend_from_slice(&(len as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(payload);
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

/// A NETLINK_ROUTE socket. It stays bound to the network namespace it was opened in, so a
/// detach through it reaches the interface it attached to whichever namespace the caller is in.
#[derive(Debug)]
pub struct Socket {
    fd: OwnedFd,
}

impl Socket {
    /// Opens a socket in the calling thread's network namespace.
    pub fn open() -> io::Result<Socket> {
        // SAFETY: plain socket(2); the result is checked and owned below.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_ROUTE,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor nobody else owns.
        Ok(Socket {
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
        })
    }

    /// Sets the XDP program of interface `ifindex` (in the socket's network namespace): `fd` -1
    /// removes it; `expected_fd` (with `XDP_FLAGS_REPLACE`) makes the change conditional on that
    /// program being the one attached.
    pub fn set_xdp(
        &self,
        ifindex: u32,
        fd: i32,
        mode_flags: u32,
        expected_fd: Option<i32>,
    ) -> io::Result<()> {
        let sock = &self.fd;
        let mut xdp = Vec::new();
        push_attr(&mut xdp, IFLA_XDP_FD, &fd.to_ne_bytes());
        let flags = mode_flags
            | if expected_fd.is_some() {
                XDP_FLAGS_REPLACE
            } else {
                0
            };
        push_attr(&mut xdp, IFLA_XDP_FLAGS, &flags.to_ne_bytes());
        if let Some(e) = expected_fd {
            push_attr(&mut xdp, IFLA_XDP_EXPECTED_FD, &e.to_ne_bytes());
        }
        let mut body = Vec::new();
        // struct ifinfomsg { family, pad, type, index, flags, change }
        body.extend_from_slice(&[libc::AF_UNSPEC as u8, 0, 0, 0]);
        body.extend_from_slice(&(ifindex as i32).to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes());
        push_attr(&mut body, IFLA_XDP | NLA_F_NESTED, &xdp);
        let mut msg = Vec::with_capacity(16 + body.len());
        msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
        msg.extend_from_slice(&RTM_SETLINK.to_ne_bytes());
        msg.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence
        msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it in
        msg.extend_from_slice(&body);

        // SAFETY: zeroed sockaddr_nl addresses the kernel (pid 0, no groups).
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as u16;
        // SAFETY: valid buffer and address of the stated lengths.
        let sent = unsafe {
            libc::sendto(
                sock.as_raw_fd(),
                msg.as_ptr().cast(),
                msg.len(),
                0,
                (&raw const addr).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if sent < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut reply = [0u8; 4096];
        loop {
            // SAFETY: valid buffer of the stated length.
            let n =
                unsafe { libc::recv(sock.as_raw_fd(), reply.as_mut_ptr().cast(), reply.len(), 0) };
            if n < 0 {
                return Err(io::Error::last_os_error());
            }
            let n = n as usize;
            let mut off = 0;
            while off + 20 <= n {
                let len = u32::from_ne_bytes([
                    reply[off],
                    reply[off + 1],
                    reply[off + 2],
                    reply[off + 3],
                ]) as usize;
                let kind = u16::from_ne_bytes([reply[off + 4], reply[off + 5]]);
                if kind == NLMSG_ERROR {
                    let code = i32::from_ne_bytes([
                        reply[off + 16],
                        reply[off + 17],
                        reply[off + 18],
                        reply[off + 19],
                    ]);
                    return if code == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::from_raw_os_error(-code))
                    };
                }
                if len < 16 {
                    break;
                }
                off += (len + 3) & !3;
            }
        }
    }
}

/// Index of interface `name` in the calling thread's network namespace.
pub fn ifindex(name: &str) -> io::Result<u32> {
    let c =
        std::ffi::CString::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(i)
    }
}
