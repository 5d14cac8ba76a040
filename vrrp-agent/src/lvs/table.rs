//! The desired IPVS table, computed from the configuration, the real servers' health and the
//! VRRP roles. Pure: no I/O, no clock. The daemon hands the result to the IPVS worker, which
//! applies only the difference (vrrp_ipvs::plan).
//!
//! keepalived semantics kept (keepalived.conf(5), check/ipwrapper.c):
//! - a failed real server is removed, or kept with weight 0 with `inhibit_on_failure`;
//! - quorum counts the weights of healthy real servers: lost below `quorum - hysteresis`,
//!   regained at `quorum + hysteresis`;
//! - the sorry server is in the table while quorum is lost (with the default quorum of 1: while
//!   no real server is healthy).

use std::collections::HashMap;
use std::net::IpAddr;

use vrrp_ipvs::{Dest, Family, Proto, Service, ServiceFlags, ServiceKey, Table, TunnelKind};

use crate::config::lvs::{Forwarding, Protocol, RealServer, VirtualServer, VsTarget};

/// The kernel's identity of a virtual server.
pub fn service_key(vs: &VirtualServer) -> ServiceKey {
    match &vs.target {
        VsTarget::Addr {
            address,
            port,
            protocol,
        } => ServiceKey::Proto {
            proto: match protocol {
                Protocol::Tcp => Proto::Tcp,
                Protocol::Udp => Proto::Udp,
                Protocol::Sctp => Proto::Sctp,
            },
            addr: *address,
            port: *port,
        },
        VsTarget::Fwmark { fwmark, family } => ServiceKey::Fwmark {
            mark: *fwmark,
            family: match family {
                crate::config::Family::Ipv4 => Family::Inet,
                crate::config::Family::Ipv6 => Family::Inet6,
            },
        },
    }
}

/// The service settings of a virtual server (flags, scheduler, persistence).
pub fn service(vs: &VirtualServer) -> Service {
    let key = service_key(vs);
    let mut s = Service::new(key, vs.scheduler.clone());
    for f in &vs.scheduler_flags {
        s.flags = s.flags
            | match f.as_str() {
                "flag-1" | "sh-fallback" | "mh-fallback" => ServiceFlags::SCHED1,
                "flag-2" | "sh-port" | "mh-port" => ServiceFlags::SCHED2,
                "flag-3" => ServiceFlags::SCHED3,
                // Validation refuses anything else.
                _ => ServiceFlags::NONE,
            };
    }
    if vs.ops {
        s.flags = s.flags | ServiceFlags::ONEPACKET;
    }
    if let Some(p) = &vs.persistence {
        s.flags = s.flags | ServiceFlags::PERSISTENT;
        s.timeout = p.timeout;
        s.netmask_prefix = p.prefix;
    }
    s
}

fn forwarding(f: Forwarding) -> vrrp_ipvs::Forwarding {
    match f {
        Forwarding::Nat => vrrp_ipvs::Forwarding::Masq,
        Forwarding::Dr => vrrp_ipvs::Forwarding::Route,
        Forwarding::Tun => vrrp_ipvs::Forwarding::Tunnel(TunnelKind::Ipip),
    }
}

fn dest(rs: &RealServer, weight: u32) -> Dest {
    Dest {
        addr: rs.address,
        port: rs.port,
        forwarding: forwarding(rs.forwarding),
        weight,
        upper_threshold: rs.upper_threshold,
        lower_threshold: rs.lower_threshold,
    }
}

/// Quorum state of one virtual server, with keepalived's hysteresis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quorum {
    /// Whether quorum is held.
    pub held: bool,
    /// Sum of the weights of the healthy real servers at the last evaluation.
    pub alive_weight: u64,
}

impl Quorum {
    /// Quorum starts held, as in keepalived (it is evaluated against the initial health at once).
    pub const INITIAL: Quorum = Quorum {
        held: true,
        alive_weight: 0,
    };

    /// Evaluates quorum for `alive_weight`; returns whether `held` flipped.
    pub fn update(&mut self, vs: &VirtualServer, alive_weight: u64) -> bool {
        self.alive_weight = alive_weight;
        let (q, h) = (u64::from(vs.quorum), u64::from(vs.hysteresis));
        let was = self.held;
        if self.held && alive_weight < q.saturating_sub(h) {
            self.held = false;
        } else if !self.held && alive_weight >= q + h {
            self.held = true;
        }
        self.held != was
    }
}

/// A quorum change of a virtual server, for logs, quorum_up/quorum_down commands and the
/// priority of its instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuorumChange {
    /// Virtual server name.
    pub vs: String,
    /// Held after the change.
    pub held: bool,
    /// Sum of the healthy real servers' weights.
    pub alive_weight: u64,
}

/// The desired table for `servers`.
///
/// - `programmed(vs)`: whether the service belongs on this node now (`lvs.program_on`);
/// - `healthy(vs, rs)`: the real server's health (a server without a check is healthy);
/// - `quorum`: per virtual server name, updated in place; changes are returned.
///
/// Quorum is evaluated for every virtual server, programmed here or not, so the priority of
/// its instance follows the health of its real servers on a Backup too.
pub fn desired(
    servers: &[VirtualServer],
    programmed: &dyn Fn(&VirtualServer) -> bool,
    healthy: &dyn Fn(&VirtualServer, &RealServer) -> bool,
    quorum: &mut HashMap<String, Quorum>,
) -> (Table, Vec<QuorumChange>) {
    let mut table = Vec::new();
    let mut changes = Vec::new();
    quorum.retain(|name, _| servers.iter().any(|v| v.name == *name));
    for vs in servers {
        let up: Vec<bool> = vs.real_servers.iter().map(|rs| healthy(vs, rs)).collect();
        let alive_weight: u64 = vs
            .real_servers
            .iter()
            .zip(&up)
            .filter(|(_, u)| **u)
            .map(|(rs, _)| u64::from(rs.weight))
            .sum();
        let q = quorum.entry(vs.name.clone()).or_insert(Quorum::INITIAL);
        if q.update(vs, alive_weight) {
            changes.push(QuorumChange {
                vs: vs.name.clone(),
                held: q.held,
                alive_weight,
            });
        }
        if !programmed(vs) {
            continue;
        }
        let mut dests: Vec<Dest> = vs
            .real_servers
            .iter()
            .zip(&up)
            .filter_map(|(rs, u)| match (u, rs.inhibit_on_failure) {
                (true, _) => Some(dest(rs, rs.weight)),
                (false, true) => Some(dest(rs, 0)),
                (false, false) => None,
            })
            .collect();
        if let Some(sorry) = &vs.sorry_server
            && !q.held
            && !dests
                .iter()
                .any(|d| d.addr == sorry.address && d.port == sorry.port)
        {
            dests.push(Dest::new(
                sorry.address,
                sorry.port,
                forwarding(sorry.forwarding),
            ));
        }
        table.push((service(vs), dests));
    }
    (table, changes)
}

/// Where a real server stands in `table` (for status): its weight in the kernel table, or None
/// when it is not there.
pub fn weight_in(table: &Table, key: &ServiceKey, addr: IpAddr, port: u16) -> Option<u32> {
    table
        .iter()
        .find(|(s, _)| s.key == *key)
        .and_then(|(_, ds)| ds.iter().find(|d| d.addr == addr && d.port == port))
        .map(|d| d.weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::lvs::{Persistence, SorryServer};
    use std::net::Ipv4Addr;

    fn ip(d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, 2, d))
    }

    fn rs(d: u8, weight: u32, inhibit: bool) -> RealServer {
        RealServer {
            address: ip(d),
            port: 8080,
            weight,
            forwarding: Forwarding::Nat,
            upper_threshold: 0,
            lower_threshold: 0,
            inhibit_on_failure: inhibit,
            check: None,
        }
    }

    fn vs(real: Vec<RealServer>) -> VirtualServer {
        VirtualServer {
            name: "web".into(),
            target: VsTarget::Addr {
                address: ip(100),
                port: 80,
                protocol: Protocol::Tcp,
            },
            scheduler: "wrr".into(),
            scheduler_flags: vec![],
            ops: false,
            persistence: None,
            forwarding: Forwarding::Nat,
            instance: None,
            quorum: 1,
            hysteresis: 0,
            quorum_weight: 0,
            quorum_up: None,
            quorum_down: None,
            sorry_server: None,
            real_servers: real,
        }
    }

    fn run(
        v: &VirtualServer,
        down: &[u8],
        q: &mut HashMap<String, Quorum>,
    ) -> (Table, Vec<QuorumChange>) {
        desired(
            std::slice::from_ref(v),
            &|_| true,
            &|_, r| !down.iter().any(|d| r.address == ip(*d)),
            q,
        )
    }

    #[test]
    fn failed_servers_leave_or_go_to_weight_zero_with_inhibit() {
        let v = vs(vec![rs(1, 3, false), rs(2, 5, true), rs(3, 1, false)]);
        let mut q = HashMap::new();
        let (t, _) = run(&v, &[1, 2], &mut q);
        let ds = &t[0].1;
        assert_eq!(ds.len(), 2);
        assert_eq!(weight_in(&t, &t[0].0.key, ip(2), 8080), Some(0));
        assert_eq!(weight_in(&t, &t[0].0.key, ip(3), 8080), Some(1));
        assert_eq!(weight_in(&t, &t[0].0.key, ip(1), 8080), None);
        assert!(t[0].0.flags == ServiceFlags::NONE);
        assert_eq!(ds[0].forwarding, vrrp_ipvs::Forwarding::Masq);
    }

    #[test]
    fn quorum_hysteresis_and_sorry_server() {
        let mut v = vs(vec![rs(1, 2, false), rs(2, 2, false), rs(3, 2, false)]);
        v.quorum = 4;
        v.hysteresis = 1;
        v.sorry_server = Some(SorryServer {
            address: ip(50),
            port: 80,
            forwarding: Forwarding::Dr,
        });
        let mut q = HashMap::new();
        // 6 alive: held, no sorry server.
        let (t, c) = run(&v, &[], &mut q);
        assert!(c.is_empty());
        assert_eq!(t[0].1.len(), 3);
        // 4 alive: still held (lost only below 4 - 1 = 3).
        assert!(run(&v, &[1], &mut q).1.is_empty());
        // 2 alive: lost; the sorry server joins the 1 healthy server.
        let (t, c) = run(&v, &[1, 2], &mut q);
        assert_eq!(
            c,
            vec![QuorumChange {
                vs: "web".into(),
                held: false,
                alive_weight: 2
            }]
        );
        assert_eq!(weight_in(&t, &t[0].0.key, ip(50), 80), Some(1));
        // 4 alive: not yet regained (needs 4 + 1 = 5).
        let (t, c) = run(&v, &[1], &mut q);
        assert!(c.is_empty());
        assert_eq!(weight_in(&t, &t[0].0.key, ip(50), 80), Some(1));
        // 6 alive: regained, the sorry server leaves.
        let (t, c) = run(&v, &[], &mut q);
        assert!(c[0].held);
        assert_eq!(weight_in(&t, &t[0].0.key, ip(50), 80), None);
    }

    #[test]
    fn not_programmed_still_tracks_quorum() {
        let v = vs(vec![rs(1, 1, false)]);
        let mut q = HashMap::new();
        let (t, c) = desired(std::slice::from_ref(&v), &|_| false, &|_, _| false, &mut q);
        assert!(t.is_empty());
        assert!(!c[0].held);
    }

    #[test]
    fn flags_persistence_and_fwmark() {
        let mut v = vs(vec![]);
        v.scheduler = "sh".into();
        v.scheduler_flags = vec!["sh-port".into(), "sh-fallback".into()];
        v.persistence = Some(Persistence {
            timeout: 300,
            prefix: 24,
        });
        v.target = VsTarget::Fwmark {
            fwmark: 7,
            family: crate::config::Family::Ipv6,
        };
        let s = service(&v);
        assert_eq!(
            s.key,
            ServiceKey::Fwmark {
                mark: 7,
                family: Family::Inet6
            }
        );
        assert!(
            s.flags
                .contains(ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK)
        );
        assert!(s.flags.contains(ServiceFlags::PERSISTENT));
        assert_eq!((s.timeout, s.netmask_prefix), (300, 24));
    }
}
