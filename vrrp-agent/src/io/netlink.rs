//! rtnetlink shell (async, tokio): interface lookup, marked virtual addresses (add, remove, list
//! ours), link up/down events, and the unicast MAC filter entry for the virtual MAC.
//!
//! Marking: every address the agent adds carries `IFA_PROTO` = [`ADDR_PROTO_VRRP_AGENT`]; the
//! kernel (since 5.18) stores it and reports it in dumps (iproute2 6.1 of Debian 12 does not
//! display it). After a crash or `kill -9` the restarted agent lists addresses with that mark and
//! removes the stale ones before electing; addresses an operator added by hand (no proto) are
//! never touched.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

use futures_util::{Stream, StreamExt, TryStreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressProtocol,
};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::packet_route::neighbour::{
    NeighbourAttribute, NeighbourFlags, NeighbourMessage, NeighbourState,
};
use rtnetlink::packet_route::{AddressFamily, route::RouteType};
use rtnetlink::{Handle, MulticastGroup};

use super::frame::Mac;

/// `IFA_PROTO` value marking addresses added by this agent: 0x56, ASCII 'V'. Values 0..=3 are the
/// kernel's (unspec, loopback, RA, link-local); anything else is free for user space.
pub const ADDR_PROTO_VRRP_AGENT: u8 = 0x56;

/// A netlink failure, with what was attempted.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    /// Opening the netlink socket failed.
    #[error("{op}: {source}")]
    Io {
        /// What was attempted.
        op: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The kernel refused a request (errno in [`NetlinkError::errno`]), or the reply was broken.
    #[error("{op}: {source}")]
    Request {
        /// What was attempted, with its arguments.
        op: String,
        /// The rtnetlink error.
        #[source]
        source: rtnetlink::Error,
    },
    /// No interface with that name or index.
    #[error("no such interface: {0}")]
    NoSuchLink(String),
}

impl NetlinkError {
    /// The errno the kernel answered with (e.g. `libc::EEXIST`, `libc::EOPNOTSUPP`), if any.
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Io { source, .. } => source.raw_os_error(),
            NetlinkError::Request {
                source: rtnetlink::Error::NetlinkError(m),
                ..
            } => m.code.map(|c| c.get().abs()),
            NetlinkError::Request { .. } => None,
            NetlinkError::NoSuchLink(_) => Some(libc::ENODEV),
        }
    }
}

fn req(op: impl Into<String>) -> impl FnOnce(rtnetlink::Error) -> NetlinkError {
    let op = op.into();
    move |source| match &source {
        rtnetlink::Error::NetlinkError(m)
            if m.code.map(|c| c.get().abs()) == Some(libc::ENODEV) =>
        {
            NetlinkError::NoSuchLink(op)
        }
        _ => NetlinkError::Request { op, source },
    }
}

/// State of one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkInfo {
    /// Interface index.
    pub ifindex: u32,
    /// Interface name.
    pub name: String,
    /// Hardware address, if the link has a 6-byte one.
    pub mac: Option<Mac>,
    /// Administratively up (IFF_UP).
    pub admin_up: bool,
    /// Carrier present (IFF_LOWER_UP).
    pub carrier: bool,
    /// Operationally up (IFF_RUNNING: operstate UP or UNKNOWN).
    pub running: bool,
    /// MTU.
    pub mtu: Option<u32>,
}

impl LinkInfo {
    /// Usable for VRRP: administratively up and running.
    pub fn is_up(&self) -> bool {
        self.admin_up && self.running
    }

    fn from_message(msg: &LinkMessage) -> Self {
        let mut info = LinkInfo {
            ifindex: msg.header.index,
            name: String::new(),
            mac: None,
            admin_up: msg.header.flags.contains(LinkFlags::Up),
            carrier: msg.header.flags.contains(LinkFlags::LowerUp),
            running: msg.header.flags.contains(LinkFlags::Running),
            mtu: None,
        };
        for attr in &msg.attributes {
            match attr {
                LinkAttribute::IfName(n) => info.name.clone_from(n),
                LinkAttribute::Address(a) => info.mac = <Mac>::try_from(a.as_slice()).ok(),
                LinkAttribute::Mtu(m) => info.mtu = Some(*m),
                _ => {}
            }
        }
        info
    }
}

/// A virtual address to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length (/32 or /128 for a bare VIP).
    pub prefix_len: u8,
    /// IPv4 label (`eth0:vip`); ignored for IPv6, which has no labels.
    pub label: Option<String>,
    /// Set IFA_F_NOPREFIXROUTE: do not add the connected route of the prefix. The caller's
    /// choice: needed when the primary address already provides the route and a second one would
    /// be removed with the VIP; keepalived adds the prefix route (it does not set the flag).
    pub no_prefix_route: bool,
}

/// An address carrying our mark, found on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkedAddress {
    /// Interface index.
    pub ifindex: u32,
    /// The address.
    pub addr: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
    /// IPv4 label, if any.
    pub label: Option<String>,
}

/// A change of an interface's usability, from RTNLGRP_LINK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// The interface became (or was first seen) administratively up and running.
    Up {
        /// Interface index.
        ifindex: u32,
        /// Interface name.
        name: String,
    },
    /// The interface became (or was first seen) down: admin down or no carrier.
    Down {
        /// Interface index.
        ifindex: u32,
        /// Interface name.
        name: String,
    },
    /// The interface was deleted.
    Removed {
        /// Interface index.
        ifindex: u32,
        /// Interface name.
        name: String,
    },
}

/// Requests to the kernel routing netlink of the caller's network namespace.
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: Handle,
}

impl Netlink {
    /// Opens a netlink socket and spawns its connection task on the current tokio runtime.
    pub fn connect() -> Result<Self, NetlinkError> {
        let (conn, handle, _) = rtnetlink::new_connection().map_err(|source| NetlinkError::Io {
            op: "open rtnetlink socket".into(),
            source,
        })?;
        tokio::spawn(conn);
        Ok(Self { handle })
    }

    /// Looks an interface up by name.
    pub async fn link_by_name(&self, name: &str) -> Result<LinkInfo, NetlinkError> {
        let mut s = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match s
            .try_next()
            .await
            .map_err(req(format!("get link {name}")))?
        {
            Some(m) => Ok(LinkInfo::from_message(&m)),
            None => Err(NetlinkError::NoSuchLink(name.to_owned())),
        }
    }

    /// Looks an interface up by index.
    pub async fn link_by_index(&self, ifindex: u32) -> Result<LinkInfo, NetlinkError> {
        let mut s = self.handle.link().get().match_index(ifindex).execute();
        match s
            .try_next()
            .await
            .map_err(req(format!("get link #{ifindex}")))?
        {
            Some(m) => Ok(LinkInfo::from_message(&m)),
            None => Err(NetlinkError::NoSuchLink(format!("#{ifindex}"))),
        }
    }

    /// Adds a virtual address, marked with [`ADDR_PROTO_VRRP_AGENT`]. IPv6 addresses get
    /// IFA_F_NODAD: duplicate address detection would hold the VIP tentative (unusable) for a
    /// second after a failover and fail outright while the old Master still holds it, and VRRP
    /// itself arbitrates ownership (RFC 5798 §1.1). Fails with errno EEXIST if the address is
    /// already there (marked or not): the caller decides.
    pub async fn add_vip(&self, ifindex: u32, vip: &VipSpec) -> Result<(), NetlinkError> {
        let mut r = self.handle.address().add(ifindex, vip.addr, vip.prefix_len);
        let msg = r.message_mut();
        let mut flags = AddressFlags::empty();
        if vip.addr.is_ipv6() {
            flags |= AddressFlags::Nodad;
        }
        if vip.no_prefix_route {
            flags |= AddressFlags::Noprefixroute;
        }
        if !flags.is_empty() {
            msg.attributes.push(AddressAttribute::Flags(flags));
        }
        if let (Some(label), IpAddr::V4(_)) = (&vip.label, vip.addr) {
            msg.attributes.push(AddressAttribute::Label(label.clone()));
        }
        msg.attributes
            .push(AddressAttribute::Protocol(AddressProtocol::Other(
                ADDR_PROTO_VRRP_AGENT,
            )));
        r.execute().await.map_err(req(format!(
            "add {}/{} on #{ifindex}",
            vip.addr, vip.prefix_len
        )))
    }

    /// Removes an address (marked or not) from an interface.
    pub async fn del_vip(
        &self,
        ifindex: u32,
        addr: IpAddr,
        prefix_len: u8,
    ) -> Result<(), NetlinkError> {
        let msg = match addr {
            IpAddr::V4(a) => rtnetlink::AddressMessageBuilder::<std::net::Ipv4Addr>::new()
                .index(ifindex)
                .address(a, prefix_len)
                .build(),
            IpAddr::V6(a) => rtnetlink::AddressMessageBuilder::<std::net::Ipv6Addr>::new()
                .index(ifindex)
                .address(a, prefix_len)
                .build(),
        };
        self.handle
            .address()
            .del(msg)
            .execute()
            .await
            .map_err(req(format!("delete {addr}/{prefix_len} on #{ifindex}")))
    }

    /// Lists the addresses carrying our mark, on one interface or (None) on all.
    pub async fn marked_addresses(
        &self,
        ifindex: Option<u32>,
    ) -> Result<Vec<MarkedAddress>, NetlinkError> {
        let mut get = self.handle.address().get();
        if let Some(i) = ifindex {
            get = get.set_link_index_filter(i);
        }
        let msgs: Vec<AddressMessage> = get
            .execute()
            .try_collect()
            .await
            .map_err(req("dump addresses"))?;
        Ok(msgs.iter().filter_map(marked).collect())
    }

    /// Adds `mac` to the interface's unicast address filter, as
    /// `bridge fdb add MAC dev IF self permanent` does (RTM_NEWNEIGH, AF_BRIDGE, NTF_SELF,
    /// NUD_PERMANENT), so a NIC delivers frames addressed to the virtual MAC without promiscuous
    /// mode. Drivers without an FDB (veth, for one) answer with an errno such as EOPNOTSUPP or
    /// EINVAL: see [`NetlinkError::errno`]; whether that matters is the caller's call.
    pub async fn add_unicast_filter(&self, ifindex: u32, mac: Mac) -> Result<(), NetlinkError> {
        self.handle
            .neighbours()
            .add_bridge(ifindex, &mac)
            .flags(NeighbourFlags::Own)
            .state(NeighbourState::Permanent)
            .kind(RouteType::Unspec)
            .execute()
            .await
            .map_err(req(format!(
                "add {} to the unicast filter of #{ifindex}",
                fmt_mac(&mac)
            )))
    }

    /// Removes `mac` from the interface's unicast filter (`bridge fdb del MAC dev IF self`).
    pub async fn del_unicast_filter(&self, ifindex: u32, mac: Mac) -> Result<(), NetlinkError> {
        let mut msg = NeighbourMessage::default();
        msg.header.family = AddressFamily::Bridge;
        msg.header.ifindex = ifindex;
        msg.header.flags = NeighbourFlags::Own;
        msg.header.state = NeighbourState::Permanent;
        msg.attributes
            .push(NeighbourAttribute::LinkLayerAddress(mac.to_vec()));
        self.handle
            .neighbours()
            .del(msg)
            .execute()
            .await
            .map_err(req(format!(
                "delete {} from the unicast filter of #{ifindex}",
                fmt_mac(&mac)
            )))
    }
}

/// `aa:bb:cc:dd:ee:ff`.
pub fn fmt_mac(mac: &Mac) -> String {
    let [a, b, c, d, e, f] = *mac;
    format!("{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{f:02x}")
}

fn marked(m: &AddressMessage) -> Option<MarkedAddress> {
    let mut proto = None;
    let mut local = None;
    let mut address = None;
    let mut label = None;
    for a in &m.attributes {
        match a {
            AddressAttribute::Protocol(p) => proto = Some(u8::from(*p)),
            AddressAttribute::Local(ip) => local = Some(*ip),
            AddressAttribute::Address(ip) => address = Some(*ip),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            _ => {}
        }
    }
    if proto != Some(ADDR_PROTO_VRRP_AGENT) {
        return None;
    }
    Some(MarkedAddress {
        ifindex: m.header.index,
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS the peer on point-to-point links.
        addr: local.or(address)?,
        prefix_len: m.header.prefix_len,
        label,
    })
}

/// Link up/down events of the caller's network namespace, deduplicated per interface: an event
/// is yielded when an interface is first seen or its usability ([`LinkInfo::is_up`]) changes.
pub struct LinkEvents {
    rx: futures_channel::mpsc::UnboundedReceiver<(
        NetlinkMessage<RouteNetlinkMessage>,
        rtnetlink::sys::SocketAddr,
    )>,
    last: HashMap<u32, bool>,
}

impl std::fmt::Debug for LinkEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkEvents")
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl LinkEvents {
    /// Subscribes to RTNLGRP_LINK and spawns the connection task on the current tokio runtime.
    pub fn subscribe() -> Result<Self, NetlinkError> {
        let (conn, _handle, rx) = rtnetlink::new_multicast_connection(&[MulticastGroup::Link])
            .map_err(|source| NetlinkError::Io {
                op: "subscribe to RTNLGRP_LINK".into(),
                source,
            })?;
        tokio::spawn(conn);
        Ok(Self {
            rx,
            last: HashMap::new(),
        })
    }

    /// The next change; `None` if the netlink connection ended.
    pub async fn next(&mut self) -> Option<LinkEvent> {
        while let Some((msg, _)) = self.rx.next().await {
            let NetlinkPayload::InnerMessage(inner) = msg.payload else {
                continue;
            };
            match inner {
                RouteNetlinkMessage::NewLink(m) => {
                    let info = LinkInfo::from_message(&m);
                    let up = info.is_up();
                    if self.last.insert(info.ifindex, up) == Some(up) {
                        continue;
                    }
                    let (ifindex, name) = (info.ifindex, info.name);
                    return Some(if up {
                        LinkEvent::Up { ifindex, name }
                    } else {
                        LinkEvent::Down { ifindex, name }
                    });
                }
                RouteNetlinkMessage::DelLink(m) => {
                    let info = LinkInfo::from_message(&m);
                    self.last.remove(&info.ifindex);
                    return Some(LinkEvent::Removed {
                        ifindex: info.ifindex,
                        name: info.name,
                    });
                }
                _ => {}
            }
        }
        None
    }

    /// The events as a `Stream`.
    pub fn into_stream(self) -> impl Stream<Item = LinkEvent> {
        futures_util::stream::unfold(self, |mut s| async move { s.next().await.map(|e| (e, s)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_route::address::AddressHeader;

    fn addr_msg(attrs: Vec<AddressAttribute>) -> AddressMessage {
        let mut m = AddressMessage::default();
        m.header = AddressHeader {
            index: 7,
            prefix_len: 24,
            ..m.header
        };
        m.attributes = attrs;
        m
    }

    #[test]
    fn only_addresses_with_our_proto_are_marked() {
        let ip: IpAddr = "192.0.2.100".parse().expect("literal");
        let ours = addr_msg(vec![
            AddressAttribute::Address(ip),
            AddressAttribute::Local(ip),
            AddressAttribute::Label("va:vip".into()),
            AddressAttribute::Protocol(AddressProtocol::Other(ADDR_PROTO_VRRP_AGENT)),
        ]);
        assert_eq!(
            marked(&ours),
            Some(MarkedAddress {
                ifindex: 7,
                addr: ip,
                prefix_len: 24,
                label: Some("va:vip".into())
            })
        );
        let theirs = addr_msg(vec![AddressAttribute::Local(ip)]);
        assert_eq!(marked(&theirs), None);
        let kernel_ll = addr_msg(vec![
            AddressAttribute::Address(ip),
            AddressAttribute::Protocol(AddressProtocol::LinkLocal),
        ]);
        assert_eq!(marked(&kernel_ll), None);
    }

    #[test]
    fn mac_is_formatted_lowercase_with_colons() {
        assert_eq!(fmt_mac(&[0, 0, 0x5e, 0, 1, 0xab]), "00:00:5e:00:01:ab");
    }
}
