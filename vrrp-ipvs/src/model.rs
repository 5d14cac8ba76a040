//! Plain IPVS types shared with the agent: virtual services, real servers (destinations),
//! counters. No I/O here; the wire encoding lives in `msg.rs`.
//!
//! Field meanings follow include/uapi/linux/ip_vs.h (Linux 6.1) and the kernel's
//! net/netfilter/ipvs/ip_vs_ctl.c, which is what `ipvsadm` and keepalived drive.

use std::fmt;
use std::net::IpAddr;

/// Transport protocol of a (protocol, address, port) virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Proto {
    /// IPPROTO_TCP (6).
    Tcp,
    /// IPPROTO_UDP (17).
    Udp,
    /// IPPROTO_SCTP (132).
    Sctp,
}

impl Proto {
    /// The IP protocol number the kernel stores (IPVS_SVC_ATTR_PROTOCOL, u16).
    pub fn number(self) -> u16 {
        match self {
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Sctp => 132,
        }
    }

    /// The protocol for an IP protocol number, if IPVS balances it.
    pub fn from_number(n: u16) -> Option<Proto> {
        match n {
            6 => Some(Proto::Tcp),
            17 => Some(Proto::Udp),
            132 => Some(Proto::Sctp),
            _ => None,
        }
    }
}

impl fmt::Display for Proto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
            Proto::Sctp => "SCTP",
        })
    }
}

/// Address family of a firewall-mark service (a fwmark service has no address of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// AF_INET (2).
    Inet,
    /// AF_INET6 (10).
    Inet6,
}

impl Family {
    /// The address family of `addr`.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// The `AF_*` number (IPVS_SVC_ATTR_AF / IPVS_DEST_ATTR_ADDR_FAMILY, u16).
    pub fn af(self) -> u16 {
        match self {
            Family::Inet => libc::AF_INET as u16,
            Family::Inet6 => libc::AF_INET6 as u16,
        }
    }

    /// The family for an `AF_*` number.
    pub fn from_af(af: u16) -> Option<Family> {
        match i32::from(af) {
            libc::AF_INET => Some(Family::Inet),
            libc::AF_INET6 => Some(Family::Inet6),
            _ => None,
        }
    }

    /// Longest prefix of the family: 32 or 128.
    pub fn max_prefix(self) -> u8 {
        match self {
            Family::Inet => 32,
            Family::Inet6 => 128,
        }
    }
}

/// What identifies a virtual service in the kernel: (protocol, address, port) or a firewall mark
/// (per family). Two services with equal keys are the same kernel object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    /// `ipvsadm -t|-u|--sctp-service ADDR:PORT`.
    Proto {
        /// Transport protocol.
        proto: Proto,
        /// Virtual address (IPv4 or IPv6).
        addr: IpAddr,
        /// Virtual port (0 = any port, for persistent "port zero" services).
        port: u16,
    },
    /// `ipvsadm -f MARK [-6]`.
    Fwmark {
        /// Firewall mark (non-zero: the kernel takes 0 as "no mark").
        mark: u32,
        /// Family of the packets the mark selects.
        family: Family,
    },
}

impl ServiceKey {
    /// The address family of the service.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Proto { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

impl fmt::Display for ServiceKey {
    /// As ipvsadm names services: `TCP 198.51.100.1:80`, `UDP [2001:db8::1]:53`,
    /// `FWM 7 IPv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Proto {
                proto,
                addr: IpAddr::V4(a),
                port,
            } => write!(f, "{proto} {a}:{port}"),
            ServiceKey::Proto {
                proto,
                addr: IpAddr::V6(a),
                port,
            } => write!(f, "{proto} [{a}]:{port}"),
            ServiceKey::Fwmark {
                mark,
                family: Family::Inet,
            } => write!(f, "FWM {mark} IPv4"),
            ServiceKey::Fwmark {
                mark,
                family: Family::Inet6,
            } => write!(f, "FWM {mark} IPv6"),
        }
    }
}

/// Service flags (IP_VS_SVC_F_* in ip_vs.h), a bit set as the kernel keeps it.
///
/// `HASHED` (0x0002) is kernel-internal: decoding drops it, encoding never sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ServiceFlags(pub u32);

impl ServiceFlags {
    /// No flags.
    pub const NONE: ServiceFlags = ServiceFlags(0);
    /// IP_VS_SVC_F_PERSISTENT: persistent service (`ipvsadm -p`); see `Service::timeout`.
    pub const PERSISTENT: ServiceFlags = ServiceFlags(0x0001);
    /// IP_VS_SVC_F_HASHED: kernel-internal "in the service table"; never set by us.
    pub const HASHED: ServiceFlags = ServiceFlags(0x0002);
    /// IP_VS_SVC_F_ONEPACKET: one-packet scheduling (`ipvsadm -o`, keepalived `ops`), UDP only.
    pub const ONEPACKET: ServiceFlags = ServiceFlags(0x0004);
    /// IP_VS_SVC_F_SCHED1: scheduler flag 1 (sh/mh: fallback).
    pub const SCHED1: ServiceFlags = ServiceFlags(0x0008);
    /// IP_VS_SVC_F_SCHED2: scheduler flag 2 (sh/mh: hash the port too).
    pub const SCHED2: ServiceFlags = ServiceFlags(0x0010);
    /// IP_VS_SVC_F_SCHED3: scheduler flag 3 (unused by in-tree schedulers).
    pub const SCHED3: ServiceFlags = ServiceFlags(0x0020);
    /// IP_VS_SVC_F_SCHED_SH_FALLBACK (= SCHED1): keepalived `sh-fallback`.
    pub const SH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// IP_VS_SVC_F_SCHED_SH_PORT (= SCHED2): keepalived `sh-port`.
    pub const SH_PORT: ServiceFlags = Self::SCHED2;
    /// IP_VS_SVC_F_SCHED_MH_FALLBACK (= SCHED1): keepalived `mh-fallback`.
    pub const MH_FALLBACK: ServiceFlags = Self::SCHED1;
    /// IP_VS_SVC_F_SCHED_MH_PORT (= SCHED2): keepalived `mh-port`.
    pub const MH_PORT: ServiceFlags = Self::SCHED2;
    /// Ownership marker of this agent: a bit ip_vs.h does not define. The kernel stores service
    /// flags as given (ip_vs_genl_parse_service: `(flags & ~mask) | (new & mask)`, no check of
    /// unknown bits) and dumps them back, so the marker survives an agent restart. See
    /// `plan::owned_by_marker`.
    pub const OWNED: ServiceFlags = ServiceFlags(0x0100_0000);

    /// Whether every bit of `other` is set.
    pub fn contains(self, other: ServiceFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// `self` without the bits of `other`.
    pub fn without(self, other: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 & !other.0)
    }
}

impl std::ops::BitOr for ServiceFlags {
    type Output = ServiceFlags;
    fn bitor(self, rhs: ServiceFlags) -> ServiceFlags {
        ServiceFlags(self.0 | rhs.0)
    }
}

/// A virtual service and its settings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    /// Identity.
    pub key: ServiceKey,
    /// Scheduler name: rr, wrr, lc, wlc, lblc, lblcr, dh, sh, mh, sed, nq, fo, ovf, twos
    /// (whatever modules the kernel has; an unknown name is refused by the kernel with ENOENT).
    pub scheduler: String,
    /// IP_VS_SVC_F_* flags (without HASHED).
    pub flags: ServiceFlags,
    /// Persistence timeout in seconds (IPVS_SVC_ATTR_TIMEOUT; used when PERSISTENT is set).
    pub timeout: u32,
    /// Persistence granularity as a prefix length (IPVS_SVC_ATTR_NETMASK: an IPv4 netmask or an
    /// IPv6 prefix length on the wire). 32 / 128 = per client address.
    pub netmask_prefix: u8,
}

impl Service {
    /// A service with scheduler `scheduler`, no flags, no persistence, full-length netmask.
    pub fn new(key: ServiceKey, scheduler: impl Into<String>) -> Service {
        Service {
            key,
            scheduler: scheduler.into(),
            flags: ServiceFlags::NONE,
            timeout: 0,
            netmask_prefix: key.family().max_prefix(),
        }
    }
}

/// Tunnel encapsulation of a TUN destination (IPVS_DEST_ATTR_TUN_TYPE, Linux >= 5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TunnelKind {
    /// IP_VS_CONN_F_TUNNEL_TYPE_IPIP (0): plain IP-in-IP, the only kind before 5.3.
    Ipip,
    /// IP_VS_CONN_F_TUNNEL_TYPE_GUE (1): UDP encapsulation to `port` (IPVS_DEST_ATTR_TUN_PORT);
    /// `flags` = IP_VS_TUNNEL_ENCAP_FLAG_* (IPVS_DEST_ATTR_TUN_FLAGS).
    Gue {
        /// Destination UDP port of the GUE encapsulation (non-zero).
        port: u16,
        /// IP_VS_TUNNEL_ENCAP_FLAG_{CSUM=1, REMCSUM=2}.
        flags: u16,
    },
    /// IP_VS_CONN_F_TUNNEL_TYPE_GRE (2); `flags` as for GUE (CSUM only).
    Gre {
        /// IP_VS_TUNNEL_ENCAP_FLAG_*.
        flags: u16,
    },
}

/// Packet forwarding method of a destination (IP_VS_CONN_F_FWD_MASK values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Forwarding {
    /// IP_VS_CONN_F_MASQ (0): NAT (`ipvsadm -m`, keepalived `lb_kind NAT`).
    Masq,
    /// IP_VS_CONN_F_LOCALNODE (1): the kernel delivers locally. Never chosen by the agent; only
    /// decoded from the kernel.
    Local,
    /// IP_VS_CONN_F_TUNNEL (2): IP tunnel (`ipvsadm -i`, `lb_kind TUN`).
    Tunnel(TunnelKind),
    /// IP_VS_CONN_F_DROUTE (3): direct routing (`ipvsadm -g`, `lb_kind DR`).
    Route,
}

/// A real server of a service, with the settings the agent controls.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Dest {
    /// Real server address. Its family may differ from the service's only with tunnelling.
    pub addr: IpAddr,
    /// Real server port (ignored by the kernel for DR and TUN: the packet keeps its port).
    pub port: u16,
    /// Forwarding method.
    pub forwarding: Forwarding,
    /// Weight (0 = quiesced: no new connections). The kernel refuses > i32::MAX.
    pub weight: u32,
    /// Upper connection threshold (0 = none).
    pub upper_threshold: u32,
    /// Lower connection threshold (0 = none).
    pub lower_threshold: u32,
}

impl Dest {
    /// A destination with weight 1 and no thresholds.
    pub fn new(addr: IpAddr, port: u16, forwarding: Forwarding) -> Dest {
        Dest {
            addr,
            port,
            forwarding,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }

    /// What identifies a destination inside its service.
    pub fn key(&self) -> DestKey {
        DestKey {
            addr: self.addr,
            port: self.port,
        }
    }
}

/// Identity of a destination within a service: (address, port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DestKey {
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.port),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.port),
        }
    }
}

/// Traffic counters and rate estimates of a service or destination (IPVS_STATS_ATTR_*, read from
/// the 64-bit IPVS_*_ATTR_STATS64 nest when present, else the 32-bit one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub inpkts: u64,
    /// Outgoing packets.
    pub outpkts: u64,
    /// Incoming bytes.
    pub inbytes: u64,
    /// Outgoing bytes.
    pub outbytes: u64,
    /// Connection rate (per second, estimator).
    pub cps: u64,
    /// Incoming packet rate.
    pub inpps: u64,
    /// Outgoing packet rate.
    pub outpps: u64,
    /// Incoming byte rate.
    pub inbps: u64,
    /// Outgoing byte rate.
    pub outbps: u64,
}

/// A service as read back from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// Settings.
    pub service: Service,
    /// Persistence engine name (IPVS_SVC_ATTR_PE_NAME, e.g. "sip"), if any.
    pub pe_name: Option<String>,
    /// Counters.
    pub stats: Stats,
}

/// A destination as read back from the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestInfo {
    /// Settings.
    pub dest: Dest,
    /// Active connections (IPVS_DEST_ATTR_ACTIVE_CONNS).
    pub active_conns: u32,
    /// Inactive connections (IPVS_DEST_ATTR_INACT_CONNS).
    pub inactive_conns: u32,
    /// Persistent connection templates (IPVS_DEST_ATTR_PERSIST_CONNS).
    pub persist_conns: u32,
    /// Counters.
    pub stats: Stats,
}

/// IPVS_CMD_GET_INFO reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// IPVS version, e.g. 0x010201 for 1.2.1.
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_tab_size: u32,
}

impl Info {
    /// "1.2.1".
    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            (self.version >> 16) & 0xff,
            (self.version >> 8) & 0xff,
            self.version & 0xff
        )
    }
}
