//! From the raw `lvs:` / `virtual_servers:` YAML to the typed [`super::lvs`] model: defaults
//! (keepalived.conf(5) "LVS CONFIGURATION", ipvsadm(8)) and every check, with line, column and
//! field path, through the same [`Validator`] as the VRRP half.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use super::duration::ConfigDuration;
use super::lvs::{
    Check, CheckKind, Forwarding, HttpCheck, LvsGlobal, OnStop, Persistence, ProgramOn, Protocol,
    RealServer, SorryServer, VirtualServer, VsTarget,
};
use super::raw::NamedMap;
use super::raw_lvs::{
    RawCheck, RawGranularity, RawLvs, RawRealServer, RawSorryServer, RawStatusItem,
    RawVirtualServer,
};
use super::validate::{Validator, join};
use super::{Family, Instance};

/// IPVS schedulers (ipvsadm(8) `-s`; keepalived `lvs_sched` passes the name through).
const SCHEDULERS: [&str; 14] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "mh", "sed", "nq", "fo", "ovf", "twos",
];
/// ipvsadm's default scheduler.
const DEFAULT_SCHEDULER: &str = "wlc";
/// keepalived `delay_loop` is 60s by default; checks here default to 5s.
const DEFAULT_CHECK_INTERVAL: ConfigDuration = ConfigDuration::from_secs(5);
/// keepalived `connect_timeout` default: 5 seconds.
const DEFAULT_CHECK_TIMEOUT: ConfigDuration = ConfigDuration::from_secs(5);
/// keepalived `delay_before_retry` default: 1 second.
const DEFAULT_RETRY_DELAY: ConfigDuration = ConfigDuration::from_secs(1);
/// keepalived quorum_up/down weight applies to a VRRP priority: same range as track weights.
const QUORUM_WEIGHT: (i64, i64) = (-253, 253);
/// Most retries of one check.
const MAX_RETRIES: i64 = 100;
/// IPVS weights are `int` in the kernel; keepalived limits `weight` to 0..65535.
const MAX_WEIGHT: i64 = 65_535;

const CHECK_COMMON: &[&str] = &[
    "type",
    "interval",
    "timeout",
    "retries",
    "retry_delay",
    "rise",
    "fall",
    "alpha",
];

/// The forwarding names a message lists (ipvsadm(8) masq / gate / ipip are accepted too).
fn allowed_forwarding() -> &'static str {
    "nat, dr, tun (keepalived NAT, DR, TUN)"
}

fn parse_forwarding(s: &str) -> Option<Forwarding> {
    match s.to_ascii_lowercase().as_str() {
        "nat" | "masq" => Some(Forwarding::Nat),
        "dr" | "route" | "gate" => Some(Forwarding::Dr),
        "tun" | "ipip" => Some(Forwarding::Tun),
        _ => None,
    }
}

fn family_of_target(t: &VsTarget) -> Family {
    match t {
        VsTarget::Addr { address, .. } => Family::of(address),
        VsTarget::Fwmark { family, .. } => *family,
    }
}

fn target_port(t: &VsTarget) -> u16 {
    match t {
        VsTarget::Addr { port, .. } => *port,
        VsTarget::Fwmark { .. } => 0,
    }
}

fn describe(t: &VsTarget) -> String {
    match t {
        VsTarget::Addr {
            address: IpAddr::V6(a),
            port,
            protocol,
        } => format!("[{a}]:{port}/{}", protocol_name(*protocol)),
        VsTarget::Addr {
            address,
            port,
            protocol,
        } => format!("{address}:{port}/{}", protocol_name(*protocol)),
        VsTarget::Fwmark { fwmark, family } => format!("fwmark {fwmark} ({})", family.name()),
    }
}

fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
        Protocol::Sctp => "sctp",
    }
}

fn forwarding_name(f: Forwarding) -> &'static str {
    match f {
        Forwarding::Nat => "nat",
        Forwarding::Dr => "dr",
        Forwarding::Tun => "tun",
    }
}

/// The prefix length of a contiguous IPv4 netmask.
fn netmask_prefix(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    let ones = m.leading_ones();
    (m.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

impl Validator<'_> {
    fn at_text(&self, path: &str) -> String {
        match self.spans.value(path) {
            Some(p) => format!("line {} column {}", p.line, p.column),
            None => path.to_owned(),
        }
    }

    fn forwarding(&mut self, path: &str, raw: Option<&str>, default: Forwarding) -> Forwarding {
        match raw {
            None => default,
            Some(s) => parse_forwarding(s).unwrap_or_else(|| {
                self.err(
                    path,
                    format!(
                        "unknown forwarding method {s:?}; allowed: {}",
                        allowed_forwarding()
                    ),
                );
                default
            }),
        }
    }

    fn port(&mut self, path: &str, v: i64, lo: i64, why: &str) -> u16 {
        self.range(path, v, lo, 65_535, why).unwrap_or(0) as u16
    }

    fn lvs_address(&mut self, path: &str, s: &str) -> Option<IpAddr> {
        let Ok(a) = s.trim().parse::<IpAddr>() else {
            self.err(
                path,
                format!("invalid IP address {s:?}; allowed: an IPv4 or IPv6 address"),
            );
            return None;
        };
        if a.is_multicast() || a.is_unspecified() {
            self.err(path, format!("{a} is not a unicast address"));
        }
        Some(a)
    }

    /// The `lvs:` settings and every virtual server.
    pub(super) fn lvs(
        &mut self,
        raw: RawLvs,
        servers: NamedMap<RawVirtualServer>,
        instances: &[Instance],
    ) -> (LvsGlobal, Vec<VirtualServer>) {
        let lvs = LvsGlobal {
            program_on: raw.program_on.unwrap_or(ProgramOn::AllNodes),
            on_stop: raw.on_stop.unwrap_or(OnStop::Remove),
        };
        let mut out: Vec<VirtualServer> = Vec::new();
        // One IPVS service per address:port/protocol, or per fwmark and family (the kernel's
        // service keys, ip_vs_ctl.c): the key, with the name and path of the first user.
        let mut services: HashMap<VsTarget, (String, String)> = HashMap::new();
        for (name, r) in servers.0 {
            let Some(vs) = self.virtual_server(name, r, &lvs, instances) else {
                continue;
            };
            let path = join("virtual_servers", &vs.name);
            let key_at = match vs.target {
                VsTarget::Addr { .. } => self.sub(&path, "address"),
                VsTarget::Fwmark { .. } => self.sub(&path, "fwmark"),
            };
            match services.get(&vs.target) {
                Some((first, first_at)) => {
                    let msg = format!(
                        "{} is already the virtual server `{first}` (at {}); allowed: one virtual server per address, port and protocol, or per fwmark and family",
                        describe(&vs.target),
                        self.at_text(first_at)
                    );
                    self.err(&key_at, msg);
                }
                None => {
                    services.insert(vs.target.clone(), (vs.name.clone(), key_at));
                }
            }
            out.push(vs);
        }
        (lvs, out)
    }

    fn virtual_server(
        &mut self,
        name: String,
        r: RawVirtualServer,
        lvs: &LvsGlobal,
        instances: &[Instance],
    ) -> Option<VirtualServer> {
        let path = join("virtual_servers", &name);
        let p = |f: &str| join(&path, f);

        let persistence_set = r.persistence_timeout.is_some();
        let target = match (&r.address, r.fwmark) {
            (Some(_), Some(_)) => {
                self.err(
                    &p("fwmark"),
                    "both address and fwmark; allowed: address + port (+ protocol), or fwmark (+ family)",
                );
                return None;
            }
            (None, None) => {
                self.err(
                    &path,
                    "no address or fwmark; allowed: address + port (+ protocol), or fwmark (+ family) (keepalived `virtual_server IP PORT` / `virtual_server fwmark N`)",
                );
                return None;
            }
            (Some(a), None) => {
                if r.family.is_some() {
                    self.err(
                        &p("family"),
                        "family is only for fwmark services; an address service takes the family of its address",
                    );
                }
                let address = self.lvs_address(&p("address"), a);
                let port = match r.port {
                    None => {
                        self.err(
                            &path,
                            "address without port; allowed: port 1..65535, or 0 with persistence_timeout (all ports)",
                        );
                        0
                    }
                    // keepalived.conf(5): port 0 is the "all ports" service, only meaningful
                    // with persistence (ipvsadm(8) -p).
                    Some(0) if !persistence_set => {
                        self.err(
                            &p("port"),
                            "port 0 (all ports) needs persistence_timeout; allowed 1..65535, or 0 with persistence",
                        );
                        0
                    }
                    Some(v) => self.port(&p("port"), v, 0, " (0 only with persistence_timeout)"),
                };
                let protocol = match r.protocol.as_deref() {
                    None => Protocol::Tcp,
                    Some(s) => match s.to_ascii_lowercase().as_str() {
                        "tcp" => Protocol::Tcp,
                        "udp" => Protocol::Udp,
                        "sctp" => Protocol::Sctp,
                        _ => {
                            self.err(
                                &p("protocol"),
                                format!("unknown protocol {s:?}; allowed: tcp, udp, sctp"),
                            );
                            Protocol::Tcp
                        }
                    },
                };
                VsTarget::Addr {
                    address: address?,
                    port,
                    protocol,
                }
            }
            (None, Some(m)) => {
                for (key, given) in [
                    ("port", r.port.is_some()),
                    ("protocol", r.protocol.is_some()),
                ] {
                    if given {
                        self.err(
                            &p(key),
                            format!("{key} does not apply to a fwmark service (the mark selects the packets); allowed: fwmark + family"),
                        );
                    }
                }
                let fwmark = self
                    .range(&p("fwmark"), m, 1, i64::from(u32::MAX), "")
                    .unwrap_or(1) as u32;
                VsTarget::Fwmark {
                    fwmark,
                    family: r.family.unwrap_or(Family::Ipv4),
                }
            }
        };
        let family = family_of_target(&target);
        let vs_port = target_port(&target);

        let scheduler = match r.scheduler {
            None => DEFAULT_SCHEDULER.to_owned(),
            Some(s) => {
                let lower = s.to_ascii_lowercase();
                if !SCHEDULERS.contains(&lower.as_str()) {
                    self.err(
                        &p("scheduler"),
                        format!(
                            "unknown scheduler {s:?}; allowed: {}",
                            SCHEDULERS.join(", ")
                        ),
                    );
                }
                lower
            }
        };
        let scheduler_flags = self.scheduler_flags(
            &p("scheduler_flags"),
            &scheduler,
            r.scheduler_flags.unwrap_or_default(),
        );

        let ops = r.ops.unwrap_or(false);
        // ipvsadm(8) -o: one-packet scheduling is for UDP only.
        if ops && matches!(target, VsTarget::Addr { protocol, .. } if protocol != Protocol::Udp) {
            self.err(
                &p("ops"),
                "one-packet scheduling is for UDP only (ipvsadm(8) -o); allowed: ops with protocol udp or a fwmark service",
            );
        }

        let max_prefix: i64 = match family {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        };
        let persistence = match r.persistence_timeout {
            None => {
                if r.persistence_granularity.is_some() {
                    self.err(
                        &p("persistence_granularity"),
                        "persistence_granularity without persistence_timeout; allowed: set persistence_timeout too (ipvsadm(8) -M needs -p)",
                    );
                }
                None
            }
            Some(t) => {
                let timeout = self
                    .range(
                        &p("persistence_timeout"),
                        t,
                        1,
                        i64::from(i32::MAX),
                        " seconds",
                    )
                    .unwrap_or(1) as u32;
                let prefix = match &r.persistence_granularity {
                    None => max_prefix,
                    Some(g) => self.granularity(&p("persistence_granularity"), g, family),
                };
                Some(Persistence {
                    timeout,
                    prefix: prefix as u8,
                })
            }
        };

        let forwarding =
            self.forwarding(&p("forwarding"), r.forwarding.as_deref(), Forwarding::Nat);

        let instance = r.instance;
        if let Some(i) = &instance {
            match instances.iter().find(|x| x.name == *i) {
                None => {
                    let known: Vec<&str> = instances.iter().map(|x| x.name.as_str()).collect();
                    let known = if known.is_empty() {
                        "none are defined".to_owned()
                    } else {
                        format!("defined: {}", known.join(", "))
                    };
                    self.err(&p("instance"), format!("unknown instance `{i}`; {known}"));
                }
                Some(inst) => {
                    if let VsTarget::Addr { address, .. } = &target {
                        let carried = inst
                            .virtual_addresses
                            .iter()
                            .chain(&inst.excluded_addresses)
                            .any(|v| v.address == *address);
                        if !carried {
                            self.warn(
                                &p("instance"),
                                format!("{address} is not a virtual address of instance `{i}`; its role may not follow the address"),
                            );
                        }
                    }
                }
            }
        } else if lvs.program_on == ProgramOn::Master {
            self.err(
                &path,
                "no instance, but `lvs.program_on: master` programs a service only while its instance is Master: which instance's role should decide? allowed: set instance to the VRRP instance that carries this address",
            );
        }

        let quorum = r
            .quorum
            .and_then(|q| self.range(&p("quorum"), q, 1, i64::from(u32::MAX), ""))
            .unwrap_or(1) as u32;
        let hysteresis = r
            .hysteresis
            .and_then(|h| self.range(&p("hysteresis"), h, 0, i64::from(u32::MAX), ""))
            .unwrap_or(0) as u32;
        // keepalived.conf(5): quorum is lost below quorum - hysteresis; with hysteresis >=
        // quorum it could never be lost.
        if hysteresis >= quorum && r.hysteresis.is_some() {
            self.err(
                &p("hysteresis"),
                format!("hysteresis {hysteresis} is not below the quorum {quorum}; allowed 0..{} (quorum is lost below quorum - hysteresis)", quorum - 1),
            );
        }
        let quorum_weight = r
            .quorum_weight
            .and_then(|w| self.range(&p("quorum_weight"), w, QUORUM_WEIGHT.0, QUORUM_WEIGHT.1, ""))
            .unwrap_or(0) as i16;
        if quorum_weight != 0 && instance.is_none() {
            self.err(
                &p("quorum_weight"),
                "quorum_weight changes the priority of `instance`, which is not set; allowed: set instance, or remove quorum_weight",
            );
        }
        let quorum_up = r.quorum_up.map(|c| self.command(&p("quorum_up"), c));
        let quorum_down = r.quorum_down.map(|c| self.command(&p("quorum_down"), c));

        let sorry_server = r
            .sorry_server
            .and_then(|s| self.sorry_server(&p("sorry_server"), s, family, vs_port, forwarding));

        let delay_loop = match r.delay_loop {
            Some(d) if d.get().is_zero() => {
                self.err(
                    &p("delay_loop"),
                    "0s is out of range; allowed: more than 0s",
                );
                None
            }
            other => other,
        };
        let vs_check = r
            .check
            .as_ref()
            .and_then(|c| self.check(&p("check"), c, delay_loop));
        let inhibit = r.inhibit_on_failure.unwrap_or(false);

        let raw_reals = r.real_servers.unwrap_or_default();
        if raw_reals.is_empty() {
            self.warn(
                &path,
                "no real_servers; the service will send traffic only to its sorry_server, if any",
            );
        }
        let mut real_servers: Vec<RealServer> = Vec::new();
        let mut seen: HashMap<(IpAddr, u16), String> = HashMap::new();
        for (i, rs) in raw_reals.into_iter().enumerate() {
            let at = format!("{}[{i}]", p("real_servers"));
            let ctx = RsContext {
                family,
                vs_port,
                forwarding,
                inhibit,
                delay_loop,
                check: vs_check.as_ref(),
            };
            let Some(real) = self.real_server(&at, rs, &ctx) else {
                continue;
            };
            let addr_at = join(&at, "address");
            match seen.get(&(real.address, real.port)) {
                Some(first) => {
                    let msg = format!(
                        "{} port {} is already listed at {first} ({}); allowed: each real server once per virtual server",
                        real.address,
                        real.port,
                        self.at_text(&join(first, "address"))
                    );
                    self.err(&addr_at, msg);
                }
                None => {
                    seen.insert((real.address, real.port), at.clone());
                }
            }
            real_servers.push(real);
        }

        Some(VirtualServer {
            name,
            target,
            scheduler,
            scheduler_flags,
            ops,
            persistence,
            forwarding,
            instance,
            quorum,
            hysteresis,
            quorum_weight,
            quorum_up,
            quorum_down,
            sorry_server,
            real_servers,
        })
    }

    /// ipvsadm(8) `-b`: flag-1..flag-3 for any scheduler; the named flags only for their
    /// scheduler (sh-fallback = flag-1, sh-port = flag-2 for sh; mh-fallback / mh-port for mh).
    fn scheduler_flags(&mut self, path: &str, scheduler: &str, flags: Vec<String>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (i, f) in flags.into_iter().enumerate() {
            let at = format!("{path}[{i}]");
            let lower = f.to_ascii_lowercase();
            let named_for = match lower.as_str() {
                "flag-1" | "flag-2" | "flag-3" => None,
                "sh-fallback" | "sh-port" => Some("sh"),
                "mh-fallback" | "mh-port" => Some("mh"),
                _ => {
                    self.err(
                        &at,
                        format!("unknown scheduler flag {f:?}; allowed: flag-1, flag-2, flag-3, sh-fallback, sh-port (scheduler sh), mh-fallback, mh-port (scheduler mh)"),
                    );
                    continue;
                }
            };
            if let Some(s) = named_for.filter(|s| *s != scheduler) {
                self.err(
                    &at,
                    format!("{lower} is a flag of the {s} scheduler, not of {scheduler}; allowed for {scheduler}: flag-1, flag-2, flag-3"),
                );
                continue;
            }
            if out.contains(&lower) {
                self.err(&at, format!("{lower} is listed twice"));
                continue;
            }
            out.push(lower);
        }
        out
    }

    fn granularity(&mut self, path: &str, g: &RawGranularity, family: Family) -> i64 {
        let max: i64 = match family {
            Family::Ipv4 => 32,
            Family::Ipv6 => 128,
        };
        match g {
            RawGranularity::Prefix(p) => {
                if (0..=max).contains(p) {
                    *p
                } else {
                    self.err(
                        path,
                        format!(
                            "prefix length {p} is out of range for {}; allowed 0..{max}",
                            family.name()
                        ),
                    );
                    max
                }
            }
            RawGranularity::Text(t) => {
                let mask = t.trim().parse::<Ipv4Addr>().ok();
                match (family, mask.and_then(netmask_prefix)) {
                    (Family::Ipv4, Some(p)) => i64::from(p),
                    (Family::Ipv4, None) => {
                        self.err(
                            path,
                            format!("invalid netmask {t:?}; allowed: a prefix length 0..32 or a contiguous IPv4 netmask (255.255.255.0)"),
                        );
                        max
                    }
                    (Family::Ipv6, _) => {
                        self.err(
                            path,
                            format!("{t:?} is not a prefix length; allowed for ipv6: a prefix length 0..128"),
                        );
                        max
                    }
                }
            }
        }
    }

    fn sorry_server(
        &mut self,
        path: &str,
        s: RawSorryServer,
        family: Family,
        vs_port: u16,
        forwarding: Forwarding,
    ) -> Option<SorryServer> {
        let addr_at = join(path, "address");
        let address = self.lvs_address(&addr_at, &s.address)?;
        if Family::of(&address) != family {
            self.err(
                &addr_at,
                format!(
                    "{address} is {} but the virtual server is {}; allowed: an {} address",
                    Family::of(&address).name(),
                    family.name(),
                    family.name()
                ),
            );
        }
        let port = match s.port {
            Some(v) => self.port(&join(path, "port"), v, 0, ""),
            None => vs_port,
        };
        let forwarding = self.forwarding(
            &join(path, "forwarding"),
            s.forwarding.as_deref(),
            forwarding,
        );
        Some(SorryServer {
            address,
            port,
            forwarding,
        })
    }

    fn real_server(
        &mut self,
        at: &str,
        rs: RawRealServer,
        ctx: &RsContext<'_>,
    ) -> Option<RealServer> {
        let p = |f: &str| join(at, f);
        let address = self.lvs_address(&p("address"), &rs.address);
        let port = match rs.port {
            None => ctx.vs_port,
            // Port 0 keeps the client's destination port: only for fwmark and all-ports services.
            Some(v) if ctx.vs_port != 0 => {
                self.port(&p("port"), v, 1, " (0 only for fwmark or port-0 services)")
            }
            Some(v) => self.port(&p("port"), v, 0, ""),
        };
        let weight = rs
            .weight
            .and_then(|w| self.range(&p("weight"), w, 0, MAX_WEIGHT, ""))
            .unwrap_or(1) as u32;
        let forwarding =
            self.forwarding(&p("forwarding"), rs.forwarding.as_deref(), ctx.forwarding);
        let upper = rs
            .upper_threshold
            .and_then(|v| self.range(&p("upper_threshold"), v, 0, i64::from(u32::MAX), ""));
        let lower = rs
            .lower_threshold
            .and_then(|v| self.range(&p("lower_threshold"), v, 0, i64::from(u32::MAX), ""));
        let (upper, lower) = (upper.unwrap_or(0) as u32, lower.unwrap_or(0) as u32);
        if lower > upper {
            self.err(
                &p("lower_threshold"),
                format!("lower_threshold {lower} is above upper_threshold {upper}; allowed: at most upper_threshold (0 = none; the server takes new connections again below it)"),
            );
        }
        let check = match &rs.check {
            Some(c) => self.check(&p("check"), c, ctx.delay_loop),
            None => ctx.check.cloned(),
        };
        // A port-0 real server (fwmark or all-ports service) has no port to probe.
        let probe_port = match check.as_ref().map(|c| &c.kind) {
            Some(CheckKind::Tcp { connect_port, .. }) => Some(*connect_port),
            Some(CheckKind::Http(h) | CheckKind::Https(h)) => Some(h.connect_port),
            _ => None,
        };
        if port == 0 && probe_port == Some(None) {
            let (at, whose) = if rs.check.is_some() {
                (p("check"), "its check")
            } else {
                (at.to_owned(), "the virtual server's check")
            };
            self.err(
                &at,
                format!("port 0 (fwmark or all-ports service) leaves {whose} nothing to connect to; allowed: set connect_port in the check, or a port on the real server"),
            );
        }
        let address = address?;
        // IPVS forwards across families only by tunnelling (kernel 3.18 "mixed address family"
        // services: tun only); NAT and DR keep the packet's family.
        if Family::of(&address) != ctx.family && forwarding != Forwarding::Tun {
            let fwd_at = if self.spans.contains(&p("forwarding")) {
                p("forwarding")
            } else {
                p("address")
            };
            self.err(
                &fwd_at,
                format!(
                    "{address} is {} but the virtual server is {}, with forwarding {}; allowed: forwarding tun for a real server of the other family (IPVS forwards across families only by tunnelling)",
                    Family::of(&address).name(),
                    ctx.family.name(),
                    forwarding_name(forwarding)
                ),
            );
        }
        Some(RealServer {
            address,
            port,
            weight,
            forwarding,
            upper_threshold: upper,
            lower_threshold: lower,
            inhibit_on_failure: rs.inhibit_on_failure.unwrap_or(ctx.inhibit),
            check,
        })
    }

    /// A check at `path`; None for `type: none` (no check) or when invalid.
    fn check(
        &mut self,
        path: &str,
        c: &RawCheck,
        delay_loop: Option<ConfigDuration>,
    ) -> Option<Check> {
        let p = |f: &str| join(path, f);
        let Some(kind_text) = c.kind.as_deref() else {
            self.err(
                path,
                "check without type; allowed type: tcp, http, https, script, none",
            );
            return None;
        };
        // keepalived's block names are accepted as spellings of the types.
        let kind = match kind_text.to_ascii_lowercase().as_str() {
            "tcp" | "tcp_check" => "tcp",
            "http" | "http_get" => "http",
            "https" | "ssl_get" => "https",
            "script" | "misc_check" => "script",
            "none" => "none",
            _ => {
                self.err(
                    &p("type"),
                    format!("unknown check type {kind_text:?}; allowed: tcp, http, https, script, none (keepalived TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK)"),
                );
                return None;
            }
        };
        let specific: &[&str] = match kind {
            "tcp" => &["connect_ip", "connect_port"],
            "http" => &[
                "path",
                "host",
                "status",
                "digest",
                "contains",
                "connect_ip",
                "connect_port",
            ],
            "https" => &[
                "path",
                "host",
                "status",
                "digest",
                "contains",
                "connect_ip",
                "connect_port",
                "verify_tls",
            ],
            "script" => &["command", "user"],
            _ => &[],
        };
        let given: [(&str, bool); 17] = [
            ("interval", c.interval.is_some()),
            ("timeout", c.timeout.is_some()),
            ("retries", c.retries.is_some()),
            ("retry_delay", c.retry_delay.is_some()),
            ("rise", c.rise.is_some()),
            ("fall", c.fall.is_some()),
            ("alpha", c.alpha.is_some()),
            ("connect_ip", c.connect_ip.is_some()),
            ("connect_port", c.connect_port.is_some()),
            ("path", c.path.is_some()),
            ("host", c.host.is_some()),
            ("status", c.status.is_some()),
            ("digest", c.digest.is_some()),
            ("contains", c.contains.is_some()),
            ("verify_tls", c.verify_tls.is_some()),
            ("command", c.command.is_some()),
            ("user", c.user.is_some()),
        ];
        let mut misplaced = false;
        for (key, present) in given {
            let applies = if kind == "none" {
                false
            } else {
                CHECK_COMMON.contains(&key) || specific.contains(&key)
            };
            if present && !applies {
                misplaced = true;
                let allowed: Vec<&str> = if kind == "none" {
                    vec!["type"]
                } else {
                    CHECK_COMMON.iter().chain(specific).copied().collect()
                };
                let article = if kind.starts_with('h') { "an" } else { "a" };
                self.err(
                    &p(key),
                    format!(
                        "{key} does not apply to {article} {kind} check; allowed keys for {kind}: {}",
                        allowed.join(", ")
                    ),
                );
            }
        }
        if kind == "none" || misplaced {
            return None;
        }

        let interval = c.interval.or(delay_loop).unwrap_or(DEFAULT_CHECK_INTERVAL);
        if c.interval.is_some() && interval.get().is_zero() {
            self.err(&p("interval"), "0s is out of range; allowed: more than 0s");
        }
        let timeout = match c.timeout {
            Some(t) => {
                if t.get().is_zero() {
                    self.err(
                        &p("timeout"),
                        "0s is out of range; allowed: more than 0s, at most the interval",
                    );
                } else if t > interval {
                    let from = if c.interval.is_some() {
                        ""
                    } else if delay_loop.is_some() {
                        " (from delay_loop)"
                    } else {
                        " (default)"
                    };
                    self.err(
                        &p("timeout"),
                        format!("timeout {t} is longer than the interval {interval}{from}; allowed: at most the interval, so checks never overlap"),
                    );
                }
                t
            }
            None => DEFAULT_CHECK_TIMEOUT.min(interval),
        };
        let retries = c
            .retries
            .and_then(|v| self.range(&p("retries"), v, 0, MAX_RETRIES, ""))
            .unwrap_or(1) as u32;
        let retry_delay = c.retry_delay.unwrap_or(DEFAULT_RETRY_DELAY);
        let rise = c
            .rise
            .and_then(|v| self.range(&p("rise"), v, 1, i64::from(i32::MAX), ""))
            .unwrap_or(1) as u32;
        let fall = c
            .fall
            .and_then(|v| self.range(&p("fall"), v, 1, i64::from(i32::MAX), ""))
            .unwrap_or(1) as u32;
        let connect_ip = c
            .connect_ip
            .as_deref()
            .and_then(|s| self.lvs_address(&p("connect_ip"), s));
        let connect_port = c
            .connect_port
            .and_then(|v| self.range(&p("connect_port"), v, 1, 65_535, ""))
            .map(|v| v as u16);

        let kind = match kind {
            "tcp" => CheckKind::Tcp {
                connect_ip,
                connect_port,
            },
            "script" => {
                let command = match &c.command {
                    Some(cmd) => self.command(&p("command"), cmd.clone()),
                    None => {
                        self.err(
                            path,
                            "a script check needs command (keepalived MISC_CHECK misc_path)",
                        );
                        Vec::new()
                    }
                };
                if c.user.as_deref().is_some_and(|u| u.trim().is_empty()) {
                    self.err(&p("user"), "empty user name");
                }
                CheckKind::Script {
                    command,
                    user: c.user.clone(),
                }
            }
            http => {
                let path_text = c.path.clone().unwrap_or_else(|| "/".to_owned());
                if !path_text.starts_with('/') {
                    self.err(
                        &p("path"),
                        format!("{path_text:?} does not start with '/'; allowed: an absolute request path (/health)"),
                    );
                }
                if c.host.as_deref().is_some_and(|h| h.trim().is_empty()) {
                    self.err(
                        &p("host"),
                        "empty host; allowed: a host name, or remove host to use the address",
                    );
                }
                let status = match &c.status {
                    None => vec![(200, 299)],
                    Some(s) => self.status(&p("status"), &s.0),
                };
                let digest = c.digest.as_ref().map(|d| {
                    if d.len() != 32 || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                        self.err(
                            &p("digest"),
                            format!("{d:?} is not an MD5 digest; allowed: 32 hexadecimal digits (as `genhash` prints)"),
                        );
                    }
                    d.to_ascii_lowercase()
                });
                let h = HttpCheck {
                    path: path_text,
                    host: c.host.clone(),
                    status,
                    digest,
                    contains: c.contains.clone(),
                    connect_ip,
                    connect_port,
                    verify_tls: c.verify_tls.unwrap_or(false),
                };
                if http == "https" {
                    CheckKind::Https(h)
                } else {
                    CheckKind::Http(h)
                }
            }
        };
        Some(Check {
            kind,
            interval,
            timeout,
            retries,
            retry_delay,
            rise,
            fall,
            alpha: c.alpha.unwrap_or(false),
        })
    }

    /// HTTP status codes and ranges, each within 100..599 (RFC 9110 §15).
    fn status(&mut self, path: &str, items: &[RawStatusItem]) -> Vec<(u16, u16)> {
        const HELP: &str =
            "allowed: codes 100..599 and ranges \"LOW-HIGH\" with LOW <= HIGH (\"200-299\")";
        // A scalar `status: 200` has no list index in the file.
        let list = self.spans.contains(&format!("{path}[0]"));
        if items.is_empty() {
            self.err(path, format!("empty status list; {HELP}"));
        }
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = if list {
                format!("{path}[{i}]")
            } else {
                path.to_owned()
            };
            let parsed = match item {
                RawStatusItem::Code(c) => Some((*c, *c)),
                RawStatusItem::Text(t) => {
                    let t = t.trim();
                    match t.split_once('-') {
                        Some((a, b)) => a.trim().parse().ok().zip(b.trim().parse().ok()),
                        None => t.parse().ok().map(|c| (c, c)),
                    }
                }
            };
            match parsed {
                Some((lo, hi))
                    if (100..=599).contains(&lo) && (100..=599).contains(&hi) && lo <= hi =>
                {
                    out.push((lo as u16, hi as u16));
                }
                _ => {
                    let shown = match item {
                        RawStatusItem::Code(c) => c.to_string(),
                        RawStatusItem::Text(t) => format!("{t:?}"),
                    };
                    self.err(&at, format!("invalid status {shown}; {HELP}"));
                }
            }
        }
        out
    }
}

/// What a real server inherits from its virtual server.
struct RsContext<'a> {
    family: Family,
    vs_port: u16,
    forwarding: Forwarding,
    inhibit: bool,
    delay_loop: Option<ConfigDuration>,
    check: Option<&'a Check>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netmasks_convert_to_prefix_lengths() {
        assert_eq!(netmask_prefix(Ipv4Addr::new(255, 255, 255, 0)), Some(24));
        assert_eq!(netmask_prefix(Ipv4Addr::new(255, 255, 255, 255)), Some(32));
        assert_eq!(netmask_prefix(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
        assert_eq!(netmask_prefix(Ipv4Addr::new(255, 0, 255, 0)), None);
    }

    #[test]
    fn keepalived_forwarding_names_are_accepted() {
        assert_eq!(parse_forwarding("NAT"), Some(Forwarding::Nat));
        assert_eq!(parse_forwarding("Dr"), Some(Forwarding::Dr));
        assert_eq!(parse_forwarding("TUN"), Some(Forwarding::Tun));
        assert_eq!(parse_forwarding("fullnat"), None);
    }
}
