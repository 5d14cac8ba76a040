//! Wire codec of the IPVS generic-netlink family: request encoding and bounds-checked decoding
//! of kernel replies (never panics on hostile input: every malformed reply is a `DecodeError`).
//!
//! Layout of every message (include/uapi/linux/netlink.h, genetlink.h):
//! ```text
//!  0               4       6       8               12              16
//!  +---------------+-------+-------+---------------+---------------+
//!  | nlmsg_len     | type  | flags | seq           | pid           |  struct nlmsghdr
//!  +-------+-------+-------+-------+---------------+---------------+
//!  | cmd   | ver   | reserved      |  struct genlmsghdr (4 bytes, encoded here by hand:
//!  +-------+-------+---------------+  netlink-packet-generic would add a dependency for 4 bytes)
//!  | attributes (struct nlattr: u16 len, u16 type, value, padded to 4) ...
//! ```
//! Attribute numbers and types are those of include/uapi/linux/ip_vs.h and the policies
//! `ip_vs_svc_policy` / `ip_vs_dest_policy` in net/netfilter/ipvs/ip_vs_ctl.c.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{NetlinkBuffer, NlaBuffer, NlasIterator};

use crate::model::{
    Dest, DestInfo, Family, Forwarding, Info, Proto, Service, ServiceFlags, ServiceInfo,
    ServiceKey, Stats, TunnelKind,
};

// ---- netlink / genetlink (include/uapi/linux/netlink.h, genetlink.h)
/// NLMSG_ERROR: error or ACK.
pub const NLMSG_ERROR: u16 = 2;
/// NLMSG_DONE: end of a dump.
pub const NLMSG_DONE: u16 = 3;
/// GENL_ID_CTRL: the controller family's fixed id.
pub const GENL_ID_CTRL: u16 = 0x10;
/// CTRL_CMD_GETFAMILY.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// CTRL_ATTR_FAMILY_ID (u16).
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// CTRL_ATTR_FAMILY_NAME (string).
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// NLA_F_NESTED: set on nested attributes we send.
const NLA_F_NESTED: u16 = 1 << 15;
const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;

// ---- ip_vs.h
/// IP_VS_GENL_NAME.
pub const IPVS_GENL_NAME: &str = "IPVS";
/// IP_VS_GENL_VERSION.
pub const IPVS_GENL_VERSION: u8 = 1;

/// IPVS_CMD_NEW_SERVICE: add a service (also the command of service dump replies).
pub const IPVS_CMD_NEW_SERVICE: u8 = 1;
/// IPVS_CMD_SET_SERVICE: modify a service.
pub const IPVS_CMD_SET_SERVICE: u8 = 2;
/// IPVS_CMD_DEL_SERVICE: delete a service.
pub const IPVS_CMD_DEL_SERVICE: u8 = 3;
/// IPVS_CMD_GET_SERVICE: get or dump services.
pub const IPVS_CMD_GET_SERVICE: u8 = 4;
/// IPVS_CMD_NEW_DEST: add a destination (also the command of dest dump replies).
pub const IPVS_CMD_NEW_DEST: u8 = 5;
/// IPVS_CMD_SET_DEST: modify a destination.
pub const IPVS_CMD_SET_DEST: u8 = 6;
/// IPVS_CMD_DEL_DEST: delete a destination.
pub const IPVS_CMD_DEL_DEST: u8 = 7;
/// IPVS_CMD_GET_DEST: dump the destinations of a service.
pub const IPVS_CMD_GET_DEST: u8 = 8;
/// IPVS_CMD_SET_INFO: the command of the GET_INFO reply.
pub const IPVS_CMD_SET_INFO: u8 = 14;
/// IPVS_CMD_GET_INFO: version and connection table size.
pub const IPVS_CMD_GET_INFO: u8 = 15;
/// IPVS_CMD_ZERO: zero counters.
pub const IPVS_CMD_ZERO: u8 = 16;
/// IPVS_CMD_FLUSH: delete every service of the namespace.
pub const IPVS_CMD_FLUSH: u8 = 17;

/// IPVS_CMD_ATTR_SERVICE: nested service attributes.
pub const IPVS_CMD_ATTR_SERVICE: u16 = 1;
/// IPVS_CMD_ATTR_DEST: nested destination attributes.
pub const IPVS_CMD_ATTR_DEST: u16 = 2;

/// IPVS_SVC_ATTR_AF (u16).
pub const IPVS_SVC_ATTR_AF: u16 = 1;
/// IPVS_SVC_ATTR_PROTOCOL (u16).
pub const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
/// IPVS_SVC_ATTR_ADDR (union nf_inet_addr, 16 bytes; IPv4 in the first 4).
pub const IPVS_SVC_ATTR_ADDR: u16 = 3;
/// IPVS_SVC_ATTR_PORT (be16).
pub const IPVS_SVC_ATTR_PORT: u16 = 4;
/// IPVS_SVC_ATTR_FWMARK (u32).
pub const IPVS_SVC_ATTR_FWMARK: u16 = 5;
/// IPVS_SVC_ATTR_SCHED_NAME (NUL-terminated string, < IP_VS_SCHEDNAME_MAXLEN = 16).
pub const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
/// IPVS_SVC_ATTR_FLAGS (struct ip_vs_flags { u32 flags; u32 mask; }).
pub const IPVS_SVC_ATTR_FLAGS: u16 = 7;
/// IPVS_SVC_ATTR_TIMEOUT (u32 seconds).
pub const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
/// IPVS_SVC_ATTR_NETMASK (be32: IPv4 netmask, or IPv6 prefix length).
pub const IPVS_SVC_ATTR_NETMASK: u16 = 9;
/// IPVS_SVC_ATTR_STATS (nested, 32-bit counters).
pub const IPVS_SVC_ATTR_STATS: u16 = 10;
/// IPVS_SVC_ATTR_PE_NAME (string).
pub const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
/// IPVS_SVC_ATTR_STATS64 (nested, u64 counters).
pub const IPVS_SVC_ATTR_STATS64: u16 = 12;

/// IPVS_DEST_ATTR_ADDR (union nf_inet_addr).
pub const IPVS_DEST_ATTR_ADDR: u16 = 1;
/// IPVS_DEST_ATTR_PORT (be16).
pub const IPVS_DEST_ATTR_PORT: u16 = 2;
/// IPVS_DEST_ATTR_FWD_METHOD (u32, IP_VS_CONN_F_FWD_MASK bits).
pub const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
/// IPVS_DEST_ATTR_WEIGHT (u32).
pub const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
/// IPVS_DEST_ATTR_U_THRESH (u32).
pub const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
/// IPVS_DEST_ATTR_L_THRESH (u32).
pub const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
/// IPVS_DEST_ATTR_ACTIVE_CONNS (u32).
pub const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
/// IPVS_DEST_ATTR_INACT_CONNS (u32).
pub const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
/// IPVS_DEST_ATTR_PERSIST_CONNS (u32).
pub const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
/// IPVS_DEST_ATTR_STATS (nested).
pub const IPVS_DEST_ATTR_STATS: u16 = 10;
/// IPVS_DEST_ATTR_ADDR_FAMILY (u16).
pub const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
/// IPVS_DEST_ATTR_STATS64 (nested).
pub const IPVS_DEST_ATTR_STATS64: u16 = 12;
/// IPVS_DEST_ATTR_TUN_TYPE (u8).
pub const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
/// IPVS_DEST_ATTR_TUN_PORT (be16).
pub const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
/// IPVS_DEST_ATTR_TUN_FLAGS (u16).
pub const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

/// IPVS_INFO_ATTR_VERSION (u32).
pub const IPVS_INFO_ATTR_VERSION: u16 = 1;
/// IPVS_INFO_ATTR_CONN_TAB_SIZE (u32).
pub const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

/// IP_VS_CONN_F_FWD_MASK.
pub const IP_VS_CONN_F_FWD_MASK: u32 = 0x0007;
/// IP_VS_CONN_F_MASQ.
pub const IP_VS_CONN_F_MASQ: u32 = 0x0000;
/// IP_VS_CONN_F_LOCALNODE.
pub const IP_VS_CONN_F_LOCALNODE: u32 = 0x0001;
/// IP_VS_CONN_F_TUNNEL.
pub const IP_VS_CONN_F_TUNNEL: u32 = 0x0002;
/// IP_VS_CONN_F_DROUTE.
pub const IP_VS_CONN_F_DROUTE: u32 = 0x0003;
/// IP_VS_CONN_F_TUNNEL_TYPE_IPIP.
pub const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u8 = 0;
/// IP_VS_CONN_F_TUNNEL_TYPE_GUE.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u8 = 1;
/// IP_VS_CONN_F_TUNNEL_TYPE_GRE.
pub const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u8 = 2;

/// IP_VS_SCHEDNAME_MAXLEN (with the NUL).
pub const IP_VS_SCHEDNAME_MAXLEN: usize = 16;

/// A kernel reply that does not have the shape ip_vs_ctl.c gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed IPVS netlink reply: {0}")]
pub struct DecodeError(pub String);

fn bad<T>(msg: impl Into<String>) -> Result<T, DecodeError> {
    Err(DecodeError(msg.into()))
}

// ------------------------------------------------------------------------------------ encoding

/// Builds one netlink message with a genl header and attributes.
#[derive(Debug)]
pub struct MsgBuilder {
    buf: Vec<u8>,
    start: usize,
    nests: Vec<usize>,
}

impl MsgBuilder {
    /// Starts a message of family `family_id` at the end of `buf` (several messages can be
    /// concatenated in one buffer and sent with one `send`: the kernel's netlink_rcv_skb
    /// handles them in order and answers each).
    pub fn new(mut buf: Vec<u8>, family_id: u16, flags: u16, seq: u32, cmd: u8, ver: u8) -> Self {
        let start = buf.len();
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, patched in finish()
        buf.extend_from_slice(&family_id.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel fills it
        buf.extend_from_slice(&[cmd, ver, 0, 0]);
        MsgBuilder {
            buf,
            start,
            nests: Vec::new(),
        }
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    /// Appends an attribute with raw value bytes.
    pub fn attr(&mut self, kind: u16, value: &[u8]) -> &mut Self {
        let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        self.pad();
        self
    }

    /// u8 attribute.
    pub fn u8(&mut self, kind: u16, v: u8) -> &mut Self {
        self.attr(kind, &[v])
    }
    /// u16 attribute (host order).
    pub fn u16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.attr(kind, &v.to_ne_bytes())
    }
    /// be16 attribute.
    pub fn be16(&mut self, kind: u16, v: u16) -> &mut Self {
        self.attr(kind, &v.to_be_bytes())
    }
    /// u32 attribute (host order).
    pub fn u32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.attr(kind, &v.to_ne_bytes())
    }
    /// be32 attribute.
    pub fn be32(&mut self, kind: u16, v: u32) -> &mut Self {
        self.attr(kind, &v.to_be_bytes())
    }
    /// NUL-terminated string attribute.
    pub fn string(&mut self, kind: u16, s: &str) -> &mut Self {
        let mut v = Vec::with_capacity(s.len() + 1);
        v.extend_from_slice(s.as_bytes());
        v.push(0);
        self.attr(kind, &v)
    }

    /// Opens a nested attribute; close it with `end_nest`.
    pub fn begin_nest(&mut self, kind: u16) -> &mut Self {
        self.nests.push(self.buf.len());
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        self
    }

    /// Closes the innermost nested attribute.
    pub fn end_nest(&mut self) -> &mut Self {
        if let Some(at) = self.nests.pop() {
            let len = u16::try_from(self.buf.len() - at).unwrap_or(u16::MAX);
            self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
        }
        self
    }

    /// Patches the length and returns the buffer.
    pub fn finish(mut self) -> Vec<u8> {
        while self.nests.last().is_some() {
            self.end_nest();
        }
        let len = (self.buf.len() - self.start) as u32;
        self.buf[self.start..self.start + 4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

fn addr_bytes(addr: &IpAddr) -> Vec<u8> {
    match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The IPVS_SVC_ATTR_NETMASK value for a prefix: an IPv4 netmask, or the IPv6 prefix length
/// (ip_vs_ctl.c: ip_vs_add_service checks `1 <= netmask <= 128` for AF_INET6).
pub fn netmask_wire(family: Family, prefix: u8) -> u32 {
    match family {
        Family::Inet => match prefix.min(32) {
            0 => 0,
            p => u32::MAX << (32 - u32::from(p)),
        },
        Family::Inet6 => u32::from(prefix),
    }
}

/// IPVS_SVC_ATTR_NETMASK bytes. The kernel copies the value unconverted (nla_get_be32 into
/// `__be32 netmask`) and then uses it as an IPv4 mask in network order, but compares it as a
/// host-order integer for IPv6 (`netmask < 1 || netmask > 128`, ip_vs_add_service). So, like
/// libipvs: IPv4 -> mask bytes in network order; IPv6 -> prefix length in host order.
pub fn netmask_bytes(family: Family, prefix: u8) -> [u8; 4] {
    let v = netmask_wire(family, prefix);
    match family {
        Family::Inet => v.to_be_bytes(),
        Family::Inet6 => v.to_ne_bytes(),
    }
}

/// Service identity attributes (AF + PROTOCOL/ADDR/PORT or AF + FWMARK), inside an open nest.
pub fn put_service_key(b: &mut MsgBuilder, key: &ServiceKey) {
    b.u16(IPVS_SVC_ATTR_AF, key.family().af());
    match key {
        ServiceKey::Proto { proto, addr, port } => {
            b.u16(IPVS_SVC_ATTR_PROTOCOL, proto.number());
            b.attr(IPVS_SVC_ATTR_ADDR, &addr_bytes(addr));
            b.be16(IPVS_SVC_ATTR_PORT, *port);
        }
        ServiceKey::Fwmark { mark, .. } => {
            b.u32(IPVS_SVC_ATTR_FWMARK, *mark);
        }
    }
}

/// `IPVS_CMD_ATTR_SERVICE` nest with only the identity (DEL_SERVICE, GET_DEST, dest ops).
pub fn put_service_id(b: &mut MsgBuilder, key: &ServiceKey) {
    b.begin_nest(IPVS_CMD_ATTR_SERVICE);
    put_service_key(b, key);
    b.end_nest();
}

/// `IPVS_CMD_ATTR_SERVICE` nest with every field (NEW_SERVICE, SET_SERVICE): the kernel
/// requires SCHED_NAME, FLAGS, TIMEOUT and NETMASK together (ip_vs_genl_parse_service,
/// full_entry). FLAGS carries mask = all ones, so the kernel's value becomes exactly ours
/// (plus HASHED, which it sets itself).
pub fn put_service_full(b: &mut MsgBuilder, svc: &Service) {
    b.begin_nest(IPVS_CMD_ATTR_SERVICE);
    put_service_key(b, &svc.key);
    b.string(IPVS_SVC_ATTR_SCHED_NAME, &svc.scheduler);
    let flags = svc.flags.without(ServiceFlags::HASHED).0;
    let mut fm = [0u8; 8];
    fm[..4].copy_from_slice(&flags.to_ne_bytes());
    fm[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    b.attr(IPVS_SVC_ATTR_FLAGS, &fm);
    b.u32(IPVS_SVC_ATTR_TIMEOUT, svc.timeout);
    b.attr(
        IPVS_SVC_ATTR_NETMASK,
        &netmask_bytes(svc.key.family(), svc.netmask_prefix),
    );
    b.end_nest();
}

/// `IPVS_CMD_ATTR_DEST` nest. `full` adds the settings (NEW_DEST / SET_DEST require
/// FWD_METHOD, WEIGHT, U_THRESH, L_THRESH: ip_vs_genl_parse_dest, full_entry).
pub fn put_dest(b: &mut MsgBuilder, dest: &Dest, full: bool) {
    b.begin_nest(IPVS_CMD_ATTR_DEST);
    b.attr(IPVS_DEST_ATTR_ADDR, &addr_bytes(&dest.addr));
    b.be16(IPVS_DEST_ATTR_PORT, dest.port);
    b.u16(IPVS_DEST_ATTR_ADDR_FAMILY, Family::of(&dest.addr).af());
    if full {
        let (method, tun) = match dest.forwarding {
            Forwarding::Masq => (IP_VS_CONN_F_MASQ, None),
            Forwarding::Local => (IP_VS_CONN_F_LOCALNODE, None),
            Forwarding::Route => (IP_VS_CONN_F_DROUTE, None),
            Forwarding::Tunnel(kind) => (IP_VS_CONN_F_TUNNEL, Some(kind)),
        };
        b.u32(IPVS_DEST_ATTR_FWD_METHOD, method);
        b.u32(IPVS_DEST_ATTR_WEIGHT, dest.weight);
        b.u32(IPVS_DEST_ATTR_U_THRESH, dest.upper_threshold);
        b.u32(IPVS_DEST_ATTR_L_THRESH, dest.lower_threshold);
        match tun {
            None => {}
            Some(TunnelKind::Ipip) => {
                b.u8(IPVS_DEST_ATTR_TUN_TYPE, IP_VS_CONN_F_TUNNEL_TYPE_IPIP);
            }
            Some(TunnelKind::Gue { port, flags }) => {
                b.u8(IPVS_DEST_ATTR_TUN_TYPE, IP_VS_CONN_F_TUNNEL_TYPE_GUE);
                b.be16(IPVS_DEST_ATTR_TUN_PORT, port);
                b.u16(IPVS_DEST_ATTR_TUN_FLAGS, flags);
            }
            Some(TunnelKind::Gre { flags }) => {
                b.u8(IPVS_DEST_ATTR_TUN_TYPE, IP_VS_CONN_F_TUNNEL_TYPE_GRE);
                b.u16(IPVS_DEST_ATTR_TUN_FLAGS, flags);
            }
        }
    }
    b.end_nest();
}

// ------------------------------------------------------------------------------------ decoding

/// One netlink message of a reply datagram, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// NLMSG_ERROR with code 0: the ACK of request `seq`.
    Ack {
        /// Sequence number of the acknowledged request.
        seq: u32,
    },
    /// NLMSG_ERROR with a negative errno for request `seq`.
    Error {
        /// Sequence number of the failed request.
        seq: u32,
        /// Positive errno.
        errno: i32,
    },
    /// NLMSG_DONE: end of the dump `seq`.
    Done {
        /// Sequence number of the dump.
        seq: u32,
    },
    /// A message of the family: genl command and attributes.
    Genl {
        /// nlmsg_type (the family id).
        kind: u16,
        /// Sequence number.
        seq: u32,
        /// nlmsg_flags.
        flags: u16,
        /// genl command.
        cmd: u8,
        /// Attribute bytes after the genl header.
        attrs: &'a [u8],
    },
}

/// Splits a received datagram into its netlink messages, checking every length.
pub fn split_replies(mut data: &[u8]) -> Result<Vec<Reply<'_>>, DecodeError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let nl = NetlinkBuffer::new_checked(data)
            .map_err(|e| DecodeError(format!("netlink header: {e}")))?;
        let len = nl.length() as usize;
        let seq = nl.sequence_number();
        let kind = nl.message_type();
        let flags = nl.flags();
        let payload = &data[NLMSG_HDRLEN..len];
        match kind {
            NLMSG_ERROR => {
                let Some(code) = payload.get(..4) else {
                    return bad("NLMSG_ERROR shorter than its error code");
                };
                let code = i32::from_ne_bytes([code[0], code[1], code[2], code[3]]);
                if code == 0 {
                    out.push(Reply::Ack { seq });
                } else {
                    out.push(Reply::Error {
                        seq,
                        errno: code.saturating_neg(),
                    });
                }
            }
            NLMSG_DONE => out.push(Reply::Done { seq }),
            // NLMSG_NOOP (1) and NLMSG_OVERRUN (4): nothing to take from them.
            1 | 4 => {}
            _ => {
                let Some(genl) = payload.get(..GENL_HDRLEN) else {
                    return bad("genl message shorter than its header");
                };
                out.push(Reply::Genl {
                    kind,
                    seq,
                    flags,
                    cmd: genl[0],
                    attrs: &payload[GENL_HDRLEN..],
                });
            }
        }
        let step = len.next_multiple_of(4).min(data.len());
        data = &data[step..];
    }
    Ok(out)
}

/// Iterates attributes as (kind, value), failing on a truncated attribute.
pub fn attrs(data: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8]), DecodeError>> {
    NlasIterator::new(data).map(|r| {
        r.map(|nla: NlaBuffer<&[u8]>| {
            let kind = nla.kind();
            let len = usize::from(nla.length());
            let bytes: &[u8] = nla.into_inner();
            (kind, &bytes[4..len])
        })
        .map_err(|e| DecodeError(format!("attribute: {e}")))
    })
}

fn get_u8(v: &[u8], what: &str) -> Result<u8, DecodeError> {
    match v {
        [a, ..] => Ok(*a),
        _ => bad(format!("{what}: empty")),
    }
}
fn get_u16(v: &[u8], what: &str) -> Result<u16, DecodeError> {
    match v {
        [a, b, ..] => Ok(u16::from_ne_bytes([*a, *b])),
        _ => bad(format!("{what}: {} bytes, need 2", v.len())),
    }
}
fn get_be16(v: &[u8], what: &str) -> Result<u16, DecodeError> {
    get_u16(v, what).map(u16::from_be)
}
fn get_u32(v: &[u8], what: &str) -> Result<u32, DecodeError> {
    match v {
        [a, b, c, d, ..] => Ok(u32::from_ne_bytes([*a, *b, *c, *d])),
        _ => bad(format!("{what}: {} bytes, need 4", v.len())),
    }
}
fn get_u64(v: &[u8], what: &str) -> Result<u64, DecodeError> {
    match v.get(..8) {
        Some(b) => {
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            Ok(u64::from_ne_bytes(a))
        }
        None => bad(format!("{what}: {} bytes, need 8", v.len())),
    }
}
fn get_str(v: &[u8], what: &str) -> Result<String, DecodeError> {
    let end = v.iter().position(|&c| c == 0).unwrap_or(v.len());
    std::str::from_utf8(&v[..end])
        .map(str::to_owned)
        .map_err(|_| DecodeError(format!("{what}: not UTF-8")))
}
fn get_addr(v: &[u8], family: Family, what: &str) -> Result<IpAddr, DecodeError> {
    match family {
        Family::Inet => match v.get(..4) {
            Some(b) => Ok(IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))),
            None => bad(format!("{what}: {} bytes, need 4", v.len())),
        },
        Family::Inet6 => match v.get(..16) {
            Some(b) => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                Ok(IpAddr::V6(Ipv6Addr::from(a)))
            }
            None => bad(format!("{what}: {} bytes, need 16", v.len())),
        },
    }
}

/// Finds the first attribute `kind` in `data`.
pub fn find_attr(data: &[u8], kind: u16) -> Result<Option<&[u8]>, DecodeError> {
    for a in attrs(data) {
        let (k, v) = a?;
        if k == kind {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// Decodes an IPVS_*_ATTR_STATS / STATS64 nest (IPVS_STATS_ATTR_*: CONNS..OUTBPS = 1..10; u32
/// or u64 per the nest, both accepted by value length).
pub fn decode_stats(data: &[u8]) -> Result<Stats, DecodeError> {
    let mut s = Stats::default();
    for a in attrs(data) {
        let (k, v) = a?;
        let n = match v.len() {
            4 => u64::from(get_u32(v, "stats counter")?),
            8 => get_u64(v, "stats counter")?,
            _ => continue, // IPVS_STATS_ATTR_PAD or a future width: ignore
        };
        match k {
            1 => s.conns = n,
            2 => s.inpkts = n,
            3 => s.outpkts = n,
            4 => s.inbytes = n,
            5 => s.outbytes = n,
            6 => s.cps = n,
            7 => s.inpps = n,
            8 => s.outpps = n,
            9 => s.inbps = n,
            10 => s.outbps = n,
            _ => {}
        }
    }
    Ok(s)
}

/// Prefix length of a contiguous IPv4 netmask; None for a non-contiguous one.
fn mask_prefix(mask: u32) -> Option<u8> {
    let ones = mask.leading_ones();
    (mask.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

/// Decodes the body of an IPVS_CMD_ATTR_SERVICE nest (a service dump entry).
pub fn decode_service(data: &[u8]) -> Result<ServiceInfo, DecodeError> {
    let (mut af, mut proto, mut addr, mut port, mut fwmark) = (None, None, None, None, None);
    let (mut sched, mut flags, mut timeout, mut netmask, mut pe) = (None, 0, 0, None, None);
    let (mut stats, mut stats64) = (None, None);
    for a in attrs(data) {
        let (k, v) = a?;
        match k {
            IPVS_SVC_ATTR_AF => af = Some(get_u16(v, "service AF")?),
            IPVS_SVC_ATTR_PROTOCOL => proto = Some(get_u16(v, "service protocol")?),
            IPVS_SVC_ATTR_ADDR => addr = Some(v),
            IPVS_SVC_ATTR_PORT => port = Some(get_be16(v, "service port")?),
            IPVS_SVC_ATTR_FWMARK => fwmark = Some(get_u32(v, "service fwmark")?),
            IPVS_SVC_ATTR_SCHED_NAME => sched = Some(get_str(v, "scheduler name")?),
            IPVS_SVC_ATTR_FLAGS => flags = get_u32(v, "service flags")?,
            IPVS_SVC_ATTR_TIMEOUT => timeout = get_u32(v, "service timeout")?,
            IPVS_SVC_ATTR_NETMASK => netmask = Some(get_u32(v, "service netmask")?),
            // (host-order read; converted per family below, see netmask_bytes)
            IPVS_SVC_ATTR_PE_NAME => pe = Some(get_str(v, "pe name")?),
            IPVS_SVC_ATTR_STATS => stats = Some(decode_stats(v)?),
            IPVS_SVC_ATTR_STATS64 => stats64 = Some(decode_stats(v)?),
            _ => {}
        }
    }
    let Some(af) = af else {
        return bad("service without IPVS_SVC_ATTR_AF");
    };
    let Some(family) = Family::from_af(af) else {
        return bad(format!("service with address family {af}"));
    };
    let key = match (fwmark, proto, addr, port) {
        (Some(mark), ..) if mark != 0 => ServiceKey::Fwmark { mark, family },
        (_, Some(p), Some(a), Some(port)) => {
            let Some(proto) = Proto::from_number(p) else {
                return bad(format!("service with protocol {p}"));
            };
            ServiceKey::Proto {
                proto,
                addr: get_addr(a, family, "service address")?,
                port,
            }
        }
        _ => return bad("service without fwmark nor protocol/address/port"),
    };
    let Some(scheduler) = sched else {
        return bad(format!("service {key} without scheduler name"));
    };
    // The kernel dumps the stored value as is (nla_put_be32, ip_vs_genl_fill_service): see
    // netmask_bytes for why IPv4 is network order and IPv6 host order.
    let netmask_prefix = match family {
        Family::Inet => match mask_prefix(u32::from_be(netmask.unwrap_or(u32::MAX))) {
            Some(p) => p,
            None => {
                return bad(format!("service {key}: non-contiguous netmask"));
            }
        },
        Family::Inet6 => match u8::try_from(netmask.unwrap_or(128)) {
            Ok(p) if p <= 128 => p,
            _ => return bad(format!("service {key}: IPv6 prefix {netmask:?}")),
        },
    };
    Ok(ServiceInfo {
        service: Service {
            key,
            scheduler,
            flags: ServiceFlags(flags).without(ServiceFlags::HASHED),
            timeout,
            netmask_prefix,
        },
        pe_name: pe.filter(|p| !p.is_empty()),
        stats: stats64.or(stats).unwrap_or_default(),
    })
}

/// Decodes the body of an IPVS_CMD_ATTR_DEST nest (a destination dump entry). `service_family`
/// is used when the kernel omits IPVS_DEST_ATTR_ADDR_FAMILY (before Linux 3.18).
pub fn decode_dest(data: &[u8], service_family: Family) -> Result<DestInfo, DecodeError> {
    let (mut addr, mut port, mut fwd, mut weight, mut u, mut l, mut af) =
        (None, None, None, None, 0, 0, None);
    let (mut active, mut inact, mut persist) = (0, 0, 0);
    let (mut tun_type, mut tun_port, mut tun_flags) = (None, 0, 0);
    let (mut stats, mut stats64) = (None, None);
    for a in attrs(data) {
        let (k, v) = a?;
        match k {
            IPVS_DEST_ATTR_ADDR => addr = Some(v),
            IPVS_DEST_ATTR_PORT => port = Some(get_be16(v, "dest port")?),
            IPVS_DEST_ATTR_FWD_METHOD => fwd = Some(get_u32(v, "dest forwarding method")?),
            IPVS_DEST_ATTR_WEIGHT => weight = Some(get_u32(v, "dest weight")?),
            IPVS_DEST_ATTR_U_THRESH => u = get_u32(v, "dest upper threshold")?,
            IPVS_DEST_ATTR_L_THRESH => l = get_u32(v, "dest lower threshold")?,
            IPVS_DEST_ATTR_ACTIVE_CONNS => active = get_u32(v, "dest active conns")?,
            IPVS_DEST_ATTR_INACT_CONNS => inact = get_u32(v, "dest inactive conns")?,
            IPVS_DEST_ATTR_PERSIST_CONNS => persist = get_u32(v, "dest persistent conns")?,
            IPVS_DEST_ATTR_ADDR_FAMILY => af = Some(get_u16(v, "dest address family")?),
            IPVS_DEST_ATTR_STATS => stats = Some(decode_stats(v)?),
            IPVS_DEST_ATTR_STATS64 => stats64 = Some(decode_stats(v)?),
            IPVS_DEST_ATTR_TUN_TYPE => tun_type = Some(get_u8(v, "dest tunnel type")?),
            IPVS_DEST_ATTR_TUN_PORT => tun_port = get_be16(v, "dest tunnel port")?,
            IPVS_DEST_ATTR_TUN_FLAGS => tun_flags = get_u16(v, "dest tunnel flags")?,
            _ => {}
        }
    }
    let family = match af {
        None => service_family,
        Some(af) => match Family::from_af(af) {
            Some(f) => f,
            None => return bad(format!("destination with address family {af}")),
        },
    };
    let (Some(addr), Some(port), Some(fwd), Some(weight)) = (addr, port, fwd, weight) else {
        return bad("destination without address, port, forwarding method or weight");
    };
    let addr = get_addr(addr, family, "dest address")?;
    let forwarding = match fwd & IP_VS_CONN_F_FWD_MASK {
        IP_VS_CONN_F_MASQ => Forwarding::Masq,
        IP_VS_CONN_F_LOCALNODE => Forwarding::Local,
        IP_VS_CONN_F_DROUTE => Forwarding::Route,
        IP_VS_CONN_F_TUNNEL => Forwarding::Tunnel(match tun_type.unwrap_or(0) {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => TunnelKind::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => TunnelKind::Gue {
                port: tun_port,
                flags: tun_flags,
            },
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => TunnelKind::Gre { flags: tun_flags },
            t => return bad(format!("destination with tunnel type {t}")),
        }),
        m => return bad(format!("destination with forwarding method {m}")),
    };
    Ok(DestInfo {
        dest: Dest {
            addr,
            port,
            forwarding,
            weight,
            upper_threshold: u,
            lower_threshold: l,
        },
        active_conns: active,
        inactive_conns: inact,
        persist_conns: persist,
        stats: stats64.or(stats).unwrap_or_default(),
    })
}

/// Decodes the IPVS_CMD_SET_INFO reply attributes.
pub fn decode_info(data: &[u8]) -> Result<Info, DecodeError> {
    let version = find_attr(data, IPVS_INFO_ATTR_VERSION)?;
    let size = find_attr(data, IPVS_INFO_ATTR_CONN_TAB_SIZE)?;
    match (version, size) {
        (Some(v), Some(s)) => Ok(Info {
            version: get_u32(v, "version")?,
            conn_tab_size: get_u32(s, "connection table size")?,
        }),
        _ => bad("GET_INFO reply without version or table size"),
    }
}

/// Family id from a CTRL_CMD_GETFAMILY reply.
pub fn decode_family_id(data: &[u8]) -> Result<u16, DecodeError> {
    match find_attr(data, CTRL_ATTR_FAMILY_ID)? {
        Some(v) => get_u16(v, "family id"),
        None => bad("CTRL_CMD_GETFAMILY reply without CTRL_ATTR_FAMILY_ID"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn svc_nest(svc: &Service) -> Vec<u8> {
        let mut b = MsgBuilder::new(Vec::new(), 99, 0, 1, IPVS_CMD_NEW_SERVICE, 1);
        put_service_full(&mut b, svc);
        let buf = b.finish();
        let replies = split_replies(&buf).unwrap();
        let Reply::Genl { attrs: a, .. } = replies[0] else {
            panic!("not genl")
        };
        find_attr(a, IPVS_CMD_ATTR_SERVICE)
            .unwrap()
            .unwrap()
            .to_vec()
    }

    #[test]
    fn service_round_trips_through_encoder_and_decoder() {
        let mut svc = Service::new(
            ServiceKey::Proto {
                proto: Proto::Udp,
                addr: "198.51.100.1".parse().unwrap(),
                port: 53,
            },
            "sh",
        );
        svc.flags = ServiceFlags::PERSISTENT | ServiceFlags::SH_PORT;
        svc.timeout = 300;
        svc.netmask_prefix = 24;
        let got = decode_service(&svc_nest(&svc)).unwrap();
        assert_eq!(got.service, svc);
    }

    #[test]
    fn ipv4_netmask_is_sent_as_a_mask_and_ipv6_as_a_prefix() {
        assert_eq!(netmask_wire(Family::Inet, 24), 0xffff_ff00);
        assert_eq!(netmask_wire(Family::Inet, 32), 0xffff_ffff);
        assert_eq!(netmask_wire(Family::Inet, 0), 0);
        assert_eq!(netmask_wire(Family::Inet6, 64), 64);
        assert_eq!(mask_prefix(0xffff_0000), Some(16));
        assert_eq!(mask_prefix(0xff00_ff00), None);
    }

    #[test]
    fn netmask_bytes_are_those_libipvs_sends() {
        assert_eq!(netmask_bytes(Family::Inet, 24), [255, 255, 255, 0]);
        assert_eq!(netmask_bytes(Family::Inet6, 64), 64u32.to_ne_bytes());
    }

    #[test]
    fn truncated_attribute_is_an_error_not_a_panic() {
        // length field says 12 but only 6 bytes follow
        let data = [12u8, 0, 1, 0, 2, 0];
        assert!(decode_service(&data).is_err());
        assert!(decode_dest(&data, Family::Inet).is_err());
    }

    #[test]
    fn nlmsg_error_carries_the_positive_errno() {
        let mut buf = Vec::new();
        buf.extend_from_slice(&36u32.to_ne_bytes());
        buf.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        buf.extend_from_slice(&0u16.to_ne_bytes());
        buf.extend_from_slice(&7u32.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&(-libc::EEXIST).to_ne_bytes());
        buf.extend_from_slice(&[0u8; 16]);
        assert_eq!(
            split_replies(&buf).unwrap(),
            vec![Reply::Error {
                seq: 7,
                errno: libc::EEXIST
            }]
        );
    }

    proptest! {
        #[test]
        fn decoders_never_panic_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = split_replies(&data);
            let _ = decode_service(&data);
            let _ = decode_dest(&data, Family::Inet6);
            let _ = decode_stats(&data);
            let _ = decode_info(&data);
        }

        #[test]
        fn dest_round_trips(a in any::<[u8; 16]>(), v4 in any::<bool>(), port in any::<u16>(),
                            w in 0u32..=i32::MAX as u32, u in any::<u32>(), l in any::<u32>(), m in 0u8..5) {
            let addr: IpAddr = if v4 { Ipv4Addr::new(a[0], a[1], a[2], a[3]).into() } else { Ipv6Addr::from(a).into() };
            let forwarding = match m {
                0 => Forwarding::Masq,
                1 => Forwarding::Route,
                2 => Forwarding::Tunnel(TunnelKind::Ipip),
                3 => Forwarding::Tunnel(TunnelKind::Gue { port: 6080, flags: 1 }),
                _ => Forwarding::Tunnel(TunnelKind::Gre { flags: 0 }),
            };
            let dest = Dest { addr, port, forwarding, weight: w, upper_threshold: u, lower_threshold: l };
            let mut b = MsgBuilder::new(Vec::new(), 99, 0, 1, IPVS_CMD_NEW_DEST, 1);
            put_dest(&mut b, &dest, true);
            let buf = b.finish();
            let replies = split_replies(&buf).unwrap();
            let Reply::Genl { attrs: at, .. } = replies[0] else { panic!("not genl") };
            let nest = find_attr(at, IPVS_CMD_ATTR_DEST).unwrap().unwrap();
            prop_assert_eq!(decode_dest(nest, Family::Inet).unwrap().dest, dest);
        }
    }
}
