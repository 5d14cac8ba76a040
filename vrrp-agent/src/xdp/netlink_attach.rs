//! Attaching XDP the legacy way, with RTM_SETLINK / IFLA_XDP, so the program belongs to the
//! interface and not to a file descriptor of ours: it stays attached when the agent dies. That is
//! what makes the dead-man switch work — after a crash or `kill -9` the program is still there,
//! sees the heartbeat go stale and stops answering ARP/ND for the VIPs. (A bpf_link, which aya
//! prefers, is detached by the kernel as soon as the process's descriptors close: the node would
//! then answer for its left-over VIPs with its own MAC, as keepalived does after kill -9.)
//! A restarted agent atomically replaces the orphaned program; a clean stop removes it.

use std::io;
use std::os::fd::RawFd;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkMessage, LinkXdp};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// `XDP_FLAGS_SKB_MODE`: generic XDP.
pub const XDP_FLAGS_SKB_MODE: u32 = 1 << 1;
/// `XDP_FLAGS_DRV_MODE`: native (driver) XDP.
pub const XDP_FLAGS_DRV_MODE: u32 = 1 << 2;

/// Attaches program `fd` to `ifindex` in the mode of `flags`, replacing whatever program of
/// that mode is attached (an orphan of a crashed agent). `fd = None` detaches.
pub fn set_xdp_fd(ifindex: u32, fd: Option<RawFd>, flags: u32) -> io::Result<()> {
    let mut link = LinkMessage::default();
    link.header.index = ifindex;
    link.attributes.push(LinkAttribute::Xdp(vec![LinkXdp::Fd(fd.unwrap_or(-1)), LinkXdp::Flags(flags)]));
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_ACK;
    header.sequence_number = 1;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::from(RouteNetlinkMessage::SetLink(link)));
    msg.finalize();
    let mut buf = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut buf);

    let mut sock = Socket::new(NETLINK_ROUTE)?;
    sock.bind_auto()?;
    sock.connect(&SocketAddr::new(0, 0))?;
    sock.send(&buf, 0)?;
    let mut rbuf = vec![0u8; 8192];
    loop {
        let n = sock.recv(&mut &mut rbuf[..], 0)?;
        let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rbuf[..n])
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("netlink reply: {e}")))?;
        match reply.payload {
            NetlinkPayload::Error(e) => {
                return match e.code {
                    None => Ok(()),
                    Some(_) => Err(e.to_io()),
                };
            }
            NetlinkPayload::Done(_) => return Ok(()),
            _ => continue,
        }
    }
}
