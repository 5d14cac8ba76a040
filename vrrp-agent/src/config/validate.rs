//! From the raw YAML to the typed [`Config`]: defaults (RFC 5798 / RFC 3768 / keepalived) and
//! every check, collecting all problems with their line, column and field path.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::duration::ConfigDuration;
use super::error::{ConfigError, Diagnostic};
use super::raw::{
    RawAuthType, RawCommand, RawConfig, RawGarp, RawGlobal, RawInstance, RawScript, RawSyncGroup,
    RawVirtualAddress,
};
use super::spans::SpanIndex;
use super::{
    Authentication, Config, Dataplane, Defaults, Family, Garp, Global, GroupNotify, Instance,
    Notify, Script, SyncGroup, Track, TrackedFile, TrackedInterface, TrackedScript, Version,
    VirtualAddress, XdpMode,
};

/// Default control socket path.
pub(crate) const DEFAULT_CONTROL_SOCKET: &str = "/run/vrrp-agent/control.sock";
/// keepalived's default priority ("priority 100" in keepalived.conf(5)).
pub(crate) const DEFAULT_PRIORITY: u8 = 100;
/// RFC 5798 §5.2.7 / RFC 3768 §5.3.7 default Advertisement_Interval: 1 second.
pub(crate) const DEFAULT_ADVERT_INTERVAL: ConfigDuration = ConfigDuration::from_secs(1);
/// Dead-man bound default. The daemon refreshes the heartbeat every bound/4, so a crashed agent
/// leaves nothing answering for its VIPs after at most this long.
pub(crate) const DEFAULT_DEADMAN: ConfigDuration = ConfigDuration::from_secs(3);
/// keepalived preempt_delay range: 0 to 1000 seconds.
const MAX_PREEMPT_DELAY: Duration = Duration::from_secs(1000);
/// keepalived track_script / track_interface weight range (keepalived.conf(5)).
const SCRIPT_WEIGHT: (i64, i64) = (-253, 253);
/// keepalived track_file weight range (keepalived.conf(5)).
const FILE_WEIGHT: (i64, i64) = (-254, 254);
/// Linux IFNAMSIZ - 1.
const MAX_IFNAME: usize = 15;

/// keepalived's GARP defaults (keepalived.conf(5), global_defs): vrrp_garp_master_delay 5,
/// vrrp_garp_master_repeat 5, vrrp_garp_interval 0, vrrp_garp_master_refresh 0 (off),
/// vrrp_garp_master_refresh_repeat 1.
fn keepalived_garp() -> Garp {
    Garp {
        delay: ConfigDuration::from_secs(5),
        repeat: 5,
        interval: ConfigDuration::ZERO,
        refresh: ConfigDuration::ZERO,
        refresh_repeat: 1,
    }
}

pub(crate) fn parse_and_validate(
    text: &str,
    origin: &str,
    interface_exists: &dyn Fn(&str) -> bool,
) -> Result<Config, ConfigError> {
    let spans = SpanIndex::build(text);
    // Repeated keys: serde would report only the first (and for name maps, at the map); report
    // each at the repeated key.
    if !spans.duplicates.is_empty() {
        let errors = spans
            .duplicates
            .iter()
            .map(|(path, pos, first)| Diagnostic {
                origin: origin.to_owned(),
                position: Some(*pos),
                path: path.clone(),
                message: format!(
                    "duplicate key: already given at line {} column {}; allowed: each key once per mapping",
                    first.line, first.column
                ),
            })
            .collect();
        return Err(ConfigError {
            origin: origin.to_owned(),
            errors,
        });
    }
    let raw: RawConfig = if text.trim().is_empty() || only_comments(text) {
        RawConfig::default()
    } else {
        let de = serde_yaml::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de)
            .map_err(|e| ConfigError::single(origin, from_serde(&e)))?
    };
    let mut v = Validator {
        spans,
        errors: Vec::new(),
        warnings: Vec::new(),
        interface_exists,
    };
    let mut config = v.config(raw);
    let sort = |d: &mut Vec<Diagnostic>| {
        d.sort_by_key(|x| x.position.map(|p| (p.line, p.column)).unwrap_or((0, 0)))
    };
    for d in v.errors.iter_mut().chain(v.warnings.iter_mut()) {
        d.origin = origin.to_owned();
    }
    if v.errors.is_empty() {
        sort(&mut v.warnings);
        config.warnings = v.warnings;
        Ok(config)
    } else {
        // Stable sort: problems at one position keep the order they were found in.
        sort(&mut v.errors);
        Err(ConfigError {
            origin: origin.to_owned(),
            errors: v.errors,
        })
    }
}

fn only_comments(text: &str) -> bool {
    text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    })
}

/// Turns a serde_yaml error into a diagnostic: position from serde_yaml, path from
/// serde_path_to_error, message without serde_yaml's own " at line L column C" and path.
fn from_serde(e: &serde_path_to_error::Error<serde_yaml::Error>) -> Diagnostic {
    let inner = e.inner();
    let path = e.path().to_string();
    // "." is the root; "?" is serde_path_to_error's unknown segment (syntax errors).
    let path = if path == "." || path.split(['.', '[']).any(|seg| seg == "?") {
        String::new()
    } else {
        path
    };
    let mut message = inner.to_string();
    let position = inner.location().map(|l| super::Position {
        line: l.line(),
        column: l.column(),
    });
    if let Some(p) = position {
        let suffix = format!(" at line {} column {}", p.line, p.column);
        if let Some(i) = message.find(&suffix) {
            message.replace_range(i..i + suffix.len(), "");
        }
    }
    // serde_yaml prefixes its own path (of the value, or of the enclosing mapping for an
    // unknown field); ours from serde_path_to_error is printed separately.
    if let Some((head, rest)) = message.split_once(": ") {
        let is_path_prefix = !path.is_empty()
            && (path == head
                || path.starts_with(&format!("{head}."))
                || path.starts_with(&format!("{head}[")));
        if is_path_prefix {
            message = rest.to_owned();
        }
    }
    // Raw numbers are i64 so that range checks can say what is allowed; don't leak the type.
    let message = message.replace("expected i64", "expected an integer");
    Diagnostic {
        origin: String::new(),
        position,
        path,
        message,
    }
}

pub(super) struct Validator<'a> {
    pub(super) spans: SpanIndex,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    interface_exists: &'a dyn Fn(&str) -> bool,
}

pub(super) fn join(a: &str, b: &str) -> String {
    format!("{a}.{b}")
}

impl Validator<'_> {
    pub(super) fn err(&mut self, path: &str, message: impl Into<String>) {
        let position = self.spans.value(path);
        self.errors.push(Diagnostic {
            origin: String::new(),
            position,
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// `path.field` when the file writes that field (mapping form), else `path` (string form).
    pub(super) fn sub(&self, path: &str, field: &str) -> String {
        let p = join(path, field);
        if self.spans.contains(&p) {
            p
        } else {
            path.to_owned()
        }
    }

    pub(super) fn warn(&mut self, path: &str, message: impl Into<String>) {
        let position = self.spans.value(path);
        self.warnings.push(Diagnostic {
            origin: String::new(),
            position,
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// `v` within `lo..=hi`, else an error "V is out of range; allowed LO..HI" and `None`.
    pub(super) fn range(&mut self, path: &str, v: i64, lo: i64, hi: i64, why: &str) -> Option<i64> {
        if (lo..=hi).contains(&v) {
            Some(v)
        } else {
            self.err(
                path,
                format!("{v} is out of range; allowed {lo}..{hi}{why}"),
            );
            None
        }
    }

    fn interface_name(&mut self, path: &str, name: &str) -> bool {
        let ok = !name.is_empty()
            && name.len() <= MAX_IFNAME
            && name != "."
            && name != ".."
            && !name.contains(['/', ':'])
            && !name.chars().any(char::is_whitespace);
        if !ok {
            self.err(
                path,
                format!(
                    "invalid interface name {name:?}; allowed: 1..{MAX_IFNAME} characters, no '/', ':' or blanks"
                ),
            );
        }
        ok
    }

    fn interface_present(&mut self, path: &str, name: &str) {
        if !(self.interface_exists)(name) {
            self.warn(
                path,
                format!("interface {name:?} does not exist on this host (the instance will be in Fault until it appears)"),
            );
        }
    }

    fn absolute_path(&mut self, path: &str, value: &str) -> PathBuf {
        if !value.starts_with('/') {
            self.err(
                path,
                format!("{value:?} is not an absolute path; allowed: a path starting with '/'"),
            );
        }
        PathBuf::from(value)
    }

    pub(super) fn command(&mut self, path: &str, c: RawCommand) -> Vec<String> {
        if c.0.first().is_none_or(|p| p.is_empty()) {
            self.err(path, "empty command; allowed: \"/path/to/program args\" or a list [\"/path/to/program\", \"arg\"]");
        }
        c.0
    }

    fn config(&mut self, raw: RawConfig) -> Config {
        let global = self.global(raw.global);
        let scripts: Vec<Script> = raw
            .scripts
            .0
            .into_iter()
            .map(|(name, s)| self.script(name, s))
            .collect();
        let instances: Vec<Instance> = raw
            .instances
            .0
            .into_iter()
            .map(|(name, i)| self.instance(name, i, &global, &scripts))
            .collect();
        self.cross_instance(&instances);
        let sync_groups: Vec<SyncGroup> = raw
            .sync_groups
            .0
            .into_iter()
            .map(|(name, g)| self.sync_group(name, g, &instances))
            .collect();
        self.group_membership(&sync_groups);
        let (lvs, virtual_servers) = self.lvs(raw.lvs, raw.virtual_servers, &instances);
        for s in &scripts {
            let used = instances
                .iter()
                .any(|i| i.track.scripts.iter().any(|t| t.name == s.name));
            if !used {
                self.warn(
                    &join("scripts", &s.name),
                    format!(
                        "script `{}` is not tracked by any instance; it will not run",
                        s.name
                    ),
                );
            }
        }
        if instances.is_empty() {
            self.warn(
                "instances",
                "no instances are configured; the agent will do nothing",
            );
        }
        Config {
            global,
            scripts,
            instances,
            sync_groups,
            lvs,
            virtual_servers,
            warnings: Vec::new(),
        }
    }

    fn global(&mut self, g: RawGlobal) -> Global {
        let router_id = match g.router_id {
            Some(r) if r.trim().is_empty() => {
                self.err(
                    "global.router_id",
                    "empty router_id; allowed: any non-empty name (default: the host name)",
                );
                r
            }
            Some(r) => r,
            None => host_name(),
        };
        let notify_fifo = g
            .notify_fifo
            .map(|p| self.absolute_path("global.notify_fifo", &p));
        let control_socket = match g.control_socket {
            Some(p) => self.absolute_path("global.control_socket", &p),
            None => PathBuf::from(DEFAULT_CONTROL_SOCKET),
        };
        if g.script_user
            .as_deref()
            .is_some_and(|u| u.trim().is_empty())
        {
            self.err("global.script_user", "empty user name");
        }
        let deadman = g.dataplane.deadman_timeout.unwrap_or(DEFAULT_DEADMAN);
        if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&deadman.get()) {
            self.err(
                "global.dataplane.deadman_timeout",
                format!("{deadman} is out of range; allowed 100ms..60s"),
            );
        }
        let d = g.defaults;
        let version = match d.version {
            None => Version::V3,
            Some(v) => self.version("global.defaults.version", v),
        };
        let advert_interval = d.advert_interval.unwrap_or(DEFAULT_ADVERT_INTERVAL);
        if advert_interval.get().is_zero() {
            self.err(
                "global.defaults.advert_interval",
                "0s is out of range; allowed 10ms..40.95s (v3) or 1s..255s (v2)",
            );
        }
        let priority = match d.priority {
            None => DEFAULT_PRIORITY,
            Some(p) => self
                .range(
                    "global.defaults.priority",
                    p,
                    1,
                    254,
                    " (255 is only for an address owner: set it per instance)",
                )
                .map_or(DEFAULT_PRIORITY, |p| p as u8),
        };
        let garp = self.garp("global.defaults.garp", &d.garp, &keepalived_garp());
        Global {
            router_id,
            notify_fifo,
            control_socket,
            enable_script_security: g.enable_script_security.unwrap_or(true),
            script_user: g.script_user,
            dataplane: Dataplane {
                xdp_mode: g.dataplane.xdp_mode.unwrap_or(XdpMode::Auto),
                deadman_timeout: deadman,
                absorb_adverts: g.dataplane.absorb_adverts.unwrap_or(true),
            },
            defaults: Defaults {
                version,
                advert_interval,
                priority,
                garp,
                lower_prio_no_advert: d.lower_prio_no_advert.unwrap_or(true),
                higher_prio_send_advert: d.higher_prio_send_advert.unwrap_or(false),
            },
        }
    }

    fn version(&mut self, path: &str, v: i64) -> Version {
        match v {
            2 => Version::V2,
            3 => Version::V3,
            other => {
                self.err(
                    path,
                    format!(
                        "version {other} is not supported; allowed: 2 (RFC 3768) or 3 (RFC 5798)"
                    ),
                );
                Version::V3
            }
        }
    }

    /// Merges `raw` over `base` and checks the result.
    fn garp(&mut self, path: &str, raw: &RawGarp, base: &Garp) -> Garp {
        let mut g = base.clone();
        if let Some(d) = raw.delay {
            g.delay = d;
        }
        if let Some(r) = raw.repeat {
            g.repeat = self
                .range(&join(path, "repeat"), r, 1, 255, "")
                .map_or(1, |r| r as u32);
        }
        if let Some(i) = raw.interval {
            if i.get() > Duration::from_secs(1) {
                self.err(
                    &join(path, "interval"),
                    format!("{i} is out of range; allowed 0s..1s"),
                );
            }
            g.interval = i;
        }
        if let Some(r) = raw.refresh {
            g.refresh = r;
        }
        if let Some(r) = raw.refresh_repeat {
            g.refresh_repeat = self
                .range(&join(path, "refresh_repeat"), r, 1, 255, "")
                .map_or(1, |r| r as u32);
        }
        g
    }

    fn script(&mut self, name: String, s: RawScript) -> Script {
        let path = join("scripts", &name);
        let command = self.command(&join(&path, "command"), s.command);
        let interval = s.interval.unwrap_or(ConfigDuration::from_secs(1));
        if interval.get().is_zero() {
            self.err(
                &join(&path, "interval"),
                "0s is out of range; allowed: more than 0s",
            );
        }
        let timeout = s.timeout.unwrap_or(interval);
        if s.timeout.is_some() && timeout.get().is_zero() {
            self.err(
                &join(&path, "timeout"),
                "0s is out of range; allowed: more than 0s, at most the interval",
            );
        } else if timeout > interval {
            self.err(
                &join(&path, "timeout"),
                format!("timeout {timeout} is longer than the interval {interval}; allowed: at most the interval, so runs never overlap"),
            );
        }
        let weight = s
            .weight
            .and_then(|w| {
                self.range(
                    &join(&path, "weight"),
                    w,
                    SCRIPT_WEIGHT.0,
                    SCRIPT_WEIGHT.1,
                    "",
                )
            })
            .unwrap_or(0) as i16;
        let rise = s
            .rise
            .and_then(|r| self.range(&join(&path, "rise"), r, 1, i64::from(i32::MAX), ""))
            .unwrap_or(1) as u32;
        let fall = s
            .fall
            .and_then(|r| self.range(&join(&path, "fall"), r, 1, i64::from(i32::MAX), ""))
            .unwrap_or(1) as u32;
        if s.user.as_deref().is_some_and(|u| u.trim().is_empty()) {
            self.err(&join(&path, "user"), "empty user name");
        }
        Script {
            name,
            command,
            interval,
            timeout,
            weight,
            rise,
            fall,
            user: s.user,
        }
    }

    fn address(&mut self, path: &str, a: &RawVirtualAddress) -> Option<VirtualAddress> {
        let address: IpAddr = match a.address.parse() {
            Ok(ip) => ip,
            Err(_) => {
                let path = &self.sub(path, "address");
                self.err(path, format!("invalid IP address {:?}; allowed: an IPv4 or IPv6 address with an optional /prefix", a.address));
                return None;
            }
        };
        let max: i64 = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match a.prefix {
            None => max,
            Some(p) if (0..=max).contains(&p) => p,
            Some(p) => {
                let path = &self.sub(path, "prefix");
                self.err(
                    path,
                    format!("prefix length {p} is out of range for {address}; allowed 0..{max}"),
                );
                max
            }
        };
        if address.is_multicast() || address.is_unspecified() || address.is_loopback() {
            self.err(
                path,
                format!("{address} cannot be a virtual address; allowed: a unicast address"),
            );
        }
        if let Some(dev) = &a.device {
            let at = self.sub(path, "device");
            self.interface_name(&at, dev);
        }
        if let Some(label) = &a.label {
            let path = &self.sub(path, "label");
            if address.is_ipv6() {
                self.err(path, format!("label {label:?} on IPv6 address {address}; allowed: labels on IPv4 addresses only"));
            } else if label.len() > MAX_IFNAME {
                self.err(
                    path,
                    format!("label {label:?} is longer than {MAX_IFNAME} characters"),
                );
            }
        }
        Some(VirtualAddress {
            address,
            prefix: prefix as u8,
            device: a.device.clone(),
            label: a.label.clone(),
        })
    }

    fn instance(
        &mut self,
        name: String,
        r: RawInstance,
        global: &Global,
        scripts: &[Script],
    ) -> Instance {
        let path = join("instances", &name);
        let p = |f: &str| join(&path, f);

        if self.interface_name(&p("interface"), &r.interface) {
            self.interface_present(&p("interface"), &r.interface);
        }
        // RFC 5798 §5.2.3: VRID 1..255 (0 is not a valid VRID).
        let vrid = self.range(&p("vrid"), r.vrid, 1, 255, "").unwrap_or(1) as u8;
        let version = match r.version {
            Some(v) => self.version(&p("version"), v),
            None => global.defaults.version,
        };

        let mut vips = Vec::new();
        for (i, a) in r.virtual_addresses.iter().enumerate() {
            if let Some(v) = self.address(&format!("{}[{i}]", p("virtual_addresses")), a) {
                vips.push((i, v));
            }
        }
        let mut excluded = Vec::new();
        for (i, a) in r.excluded_addresses.iter().enumerate() {
            if let Some(v) = self.address(&format!("{}[{i}]", p("excluded_addresses")), a) {
                excluded.push(v);
            }
        }
        // RFC 5798 §5.2.5: an advert carries at least one address.
        if r.virtual_addresses.is_empty() {
            self.err(
                &path,
                "no virtual_addresses; allowed: at least one (RFC 5798 §5.2.5: an advertisement carries 1 or more addresses)",
            );
        }
        // VRRP runs one instance per family (RFC 5798 §1.1); keepalived also refuses mixing
        // families in virtual_ipaddress (excluded addresses may mix).
        let (family, family_origin) = match (r.family, vips.first()) {
            (Some(f), _) => (f, "family".to_owned()),
            (None, Some((i, v))) => (Family::of(&v.address), format!("virtual_addresses[{i}]")),
            (None, None) => (Family::Ipv4, "family".to_owned()),
        };
        for (i, v) in &vips {
            if Family::of(&v.address) != family {
                self.err(
                    &format!("{}[{i}]", p("virtual_addresses")),
                    format!(
                        "{} is {} but the instance is {} (from {family_origin}); VRRP runs one instance per address family (RFC 5798 §1.1): put it in another instance, or in excluded_addresses",
                        v.address,
                        Family::of(&v.address).name(),
                        family.name()
                    ),
                );
            }
        }
        // RFC 5798 §5.2.9: for IPv6 the first address is the virtual router's link-local one.
        // keepalived accepts global-only lists, so this is a warning, not an error.
        if let Some((i, v)) = vips.first() {
            let link_local =
                matches!(v.address, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80);
            if family == Family::Ipv6 && Family::of(&v.address) == Family::Ipv6 && !link_local {
                self.warn(
                    &format!("{}[{i}]", p("virtual_addresses")),
                    format!(
                        "{} is the first IPv6 address; RFC 5798 §5.2.9 expects the virtual router's link-local address (fe80::/10) first",
                        v.address
                    ),
                );
            }
        }
        // RFC 3768 defines VRRP for IPv4 only; IPv6 needs VRRPv3 (RFC 5798).
        if version == Version::V2 && family == Family::Ipv6 {
            let at = if self.spans.contains(&p("version")) {
                p("version")
            } else {
                p("family")
            };
            self.err(
                &at,
                "version 2 is IPv4 only (RFC 3768); allowed for ipv6: version 3 (RFC 5798)",
            );
        }

        let address_owner = r.address_owner.unwrap_or(false);
        let priority = match r.priority {
            Some(pr) => {
                let v = self
                    .range(&p("priority"), pr, 1, 255, "")
                    .unwrap_or(i64::from(DEFAULT_PRIORITY));
                if v == 255 && !address_owner {
                    self.err(
                        &p("priority"),
                        "255 is reserved for the address owner (RFC 5798 §5.2.4); allowed 1..254, or set `address_owner: true` if this router owns every virtual address",
                    );
                } else if v != 255 && address_owner {
                    self.err(
                        &p("priority"),
                        format!("{v} with `address_owner: true`; the address owner's priority is 255 (RFC 5798 §5.2.4): remove priority or set it to 255"),
                    );
                }
                v as u8
            }
            None if address_owner => 255,
            None => global.defaults.priority,
        };

        let advert_interval = r.advert_interval.unwrap_or(global.defaults.advert_interval);
        let from = if r.advert_interval.is_some() {
            String::new()
        } else {
            " (from global.defaults.advert_interval)".to_owned()
        };
        let d = advert_interval.get();
        match version {
            // RFC 3768 §5.3.7: Adver Int, 8 bits, in seconds; keepalived default 1.
            Version::V2 => {
                if d.subsec_nanos() != 0 || !(1..=255).contains(&d.as_secs()) {
                    self.err(
                        &p("advert_interval"),
                        format!("{advert_interval}{from} is not allowed with version 2; allowed: whole seconds 1s..255s (RFC 3768 §5.3.7)"),
                    );
                }
            }
            // RFC 5798 §5.2.7: Max Adver Int, 12 bits, in centiseconds.
            Version::V3 => {
                let ns = d.as_nanos();
                if !ns.is_multiple_of(10_000_000) || !(1..=4095).contains(&(ns / 10_000_000)) {
                    self.err(
                        &p("advert_interval"),
                        format!("{advert_interval}{from} is not allowed with version 3; allowed: 10ms..40.95s in steps of 10ms (RFC 5798 §5.2.7)"),
                    );
                }
            }
        }

        let preempt = r.preempt.unwrap_or(true);
        let preempt_delay = r.preempt_delay.unwrap_or(ConfigDuration::ZERO);
        if preempt_delay.get() > MAX_PREEMPT_DELAY {
            self.err(
                &p("preempt_delay"),
                format!("{preempt_delay} is out of range; allowed 0s..1000s"),
            );
        } else if !preempt && !preempt_delay.get().is_zero() {
            self.warn(
                &p("preempt_delay"),
                "preempt_delay has no effect with `preempt: false`",
            );
        }

        let unicast_src = r
            .unicast_src
            .as_deref()
            .and_then(|s| self.unicast_address(&p("unicast_src"), s, family));
        let mut unicast_peers: Vec<IpAddr> = Vec::new();
        for (i, s) in r.unicast_peers.iter().enumerate() {
            let at = format!("{}[{i}]", p("unicast_peers"));
            if let Some(a) = self.unicast_address(&at, s, family) {
                if unicast_peers.contains(&a) {
                    self.err(&at, format!("{a} is listed twice"));
                } else {
                    unicast_peers.push(a);
                }
            }
        }
        if unicast_src.is_some() && r.unicast_peers.is_empty() {
            self.err(&p("unicast_src"), "unicast_src without unicast_peers; allowed: list the peers in unicast_peers, or remove unicast_src for multicast");
        }

        let authentication = match r.authentication {
            None => Authentication::None,
            Some(a) => {
                let at = p("authentication");
                match (a.kind, version) {
                    (RawAuthType::Ah, _) => {
                        self.err(&join(&at, "type"), "AH authentication is not supported (RFC 3768 §5.3.6 removed it; RFC 5798 has none); allowed: none or pass");
                        Authentication::None
                    }
                    (RawAuthType::Pass, Version::V3) => {
                        self.err(&at, "authentication is only for version 2 (RFC 5798 §9 removed it from VRRPv3); allowed with version 3: none");
                        Authentication::None
                    }
                    (RawAuthType::Pass, Version::V2) => match a.password {
                        Some(pw) if (1..=8).contains(&pw.len()) => {
                            Authentication::Pass { password: pw }
                        }
                        Some(pw) => {
                            self.err(&join(&at, "password"), format!("password of {} bytes; allowed: 1..8 bytes (the advert carries 8)", pw.len()));
                            Authentication::None
                        }
                        None => {
                            self.err(&at, "type pass needs a password (1..8 bytes)");
                            Authentication::None
                        }
                    },
                    (RawAuthType::None, _) => {
                        if a.password.is_some() {
                            self.err(&join(&at, "password"), "a password with type none; allowed: set type: pass, or remove the password");
                        }
                        Authentication::None
                    }
                }
            }
        };

        let garp = self.garp(&p("garp"), &r.garp, &global.defaults.garp);

        let mut track = Track::default();
        for (i, t) in r.track.scripts.iter().enumerate() {
            let at = format!("{}[{i}]", p("track.scripts"));
            let Some(script) = scripts.iter().find(|s| s.name == t.name) else {
                let known: Vec<&str> = scripts.iter().map(|s| s.name.as_str()).collect();
                let known = if known.is_empty() {
                    "none are defined".to_owned()
                } else {
                    format!("defined: {}", known.join(", "))
                };
                self.err(
                    &self.sub(&at, "name"),
                    format!("unknown script `{}`; {known}", t.name),
                );
                continue;
            };
            let weight = match t.weight {
                Some(w) => self
                    .range(
                        &self.sub(&at, "weight"),
                        w,
                        SCRIPT_WEIGHT.0,
                        SCRIPT_WEIGHT.1,
                        "",
                    )
                    .unwrap_or(0) as i16,
                None => script.weight,
            };
            track.scripts.push(TrackedScript {
                name: t.name.clone(),
                weight,
            });
        }
        for (i, t) in r.track.interfaces.iter().enumerate() {
            let at = format!("{}[{i}]", p("track.interfaces"));
            let name_at = self.sub(&at, "name");
            if self.interface_name(&name_at, &t.name) {
                self.interface_present(&name_at, &t.name);
            }
            let weight_at = self.sub(&at, "weight");
            let weight = t
                .weight
                .and_then(|w| self.range(&weight_at, w, SCRIPT_WEIGHT.0, SCRIPT_WEIGHT.1, ""))
                .unwrap_or(0) as i16;
            track.interfaces.push(TrackedInterface {
                name: t.name.clone(),
                weight,
            });
        }
        for (i, t) in r.track.files.iter().enumerate() {
            let at = format!("{}[{i}]", p("track.files"));
            let file = self.absolute_path(&self.sub(&at, "path"), &t.path);
            let weight_at = self.sub(&at, "weight");
            let weight = t
                .weight
                .and_then(|w| self.range(&weight_at, w, FILE_WEIGHT.0, FILE_WEIGHT.1, ""))
                .unwrap_or(1) as i16;
            track.files.push(TrackedFile { path: file, weight });
        }
        // keepalived.conf(5): an address owner's priority cannot change, so its tracking
        // weights must be 0 (tracking can only put it in Fault).
        if priority == 255 && address_owner {
            let weighted: Vec<String> = track
                .scripts
                .iter()
                .filter(|t| t.weight != 0)
                .map(|t| format!("script {}", t.name))
                .chain(
                    track
                        .interfaces
                        .iter()
                        .filter(|t| t.weight != 0)
                        .map(|t| format!("interface {}", t.name)),
                )
                .chain(
                    track
                        .files
                        .iter()
                        .filter(|t| t.weight != 0)
                        .map(|t| format!("file {}", t.path.display())),
                )
                .collect();
            if !weighted.is_empty() {
                self.err(
                    &p("track"),
                    format!("the address owner's priority stays 255 (RFC 5798 §5.2.4), so tracking weights must be 0; non-zero: {}", weighted.join(", ")),
                );
            }
        }

        let n = r.notify;
        let notify = Notify {
            master: n.master.map(|c| self.command(&p("notify.master"), c)),
            backup: n.backup.map(|c| self.command(&p("notify.backup"), c)),
            fault: n.fault.map(|c| self.command(&p("notify.fault"), c)),
            stop: n.stop.map(|c| self.command(&p("notify.stop"), c)),
            any: n.any.map(|c| self.command(&p("notify.any"), c)),
        };

        let v3_checksum_as_v2 = r.v3_checksum_as_v2.unwrap_or(false);
        if v3_checksum_as_v2 && (version != Version::V3 || family != Family::Ipv4) {
            self.err(&p("v3_checksum_as_v2"), "only meaningful for version 3 over IPv4 (IPv6 always uses the pseudo-header, RFC 5798 §5.2.8)");
        }

        Instance {
            name,
            interface: r.interface,
            vrid,
            version,
            family,
            priority,
            address_owner,
            advert_interval,
            preempt,
            preempt_delay,
            // RFC 5798 §6.1: the address owner always accepts packets for its addresses.
            accept_mode: r.accept_mode.unwrap_or(true) || address_owner,
            unicast_src,
            unicast_peers,
            authentication,
            virtual_addresses: vips.into_iter().map(|(_, v)| v).collect(),
            excluded_addresses: excluded,
            garp,
            track,
            notify,
            lower_prio_no_advert: r
                .lower_prio_no_advert
                .unwrap_or(global.defaults.lower_prio_no_advert),
            higher_prio_send_advert: r
                .higher_prio_send_advert
                .unwrap_or(global.defaults.higher_prio_send_advert),
            v3_checksum_as_v2,
        }
    }

    fn unicast_address(&mut self, path: &str, s: &str, family: Family) -> Option<IpAddr> {
        let Ok(a) = s.parse::<IpAddr>() else {
            self.err(
                path,
                format!(
                    "invalid IP address {s:?}; allowed: an {} address",
                    family.name()
                ),
            );
            return None;
        };
        if Family::of(&a) != family {
            self.err(
                path,
                format!(
                    "{a} is {} but the instance is {}; allowed: {} addresses",
                    Family::of(&a).name(),
                    family.name(),
                    family.name()
                ),
            );
        } else if a.is_multicast() || a.is_unspecified() || a.is_loopback() {
            self.err(path, format!("{a} is not a unicast address"));
        }
        Some(a)
    }

    /// Checks across instances: VRID clashes and addresses claimed twice on one interface.
    fn cross_instance(&mut self, instances: &[Instance]) {
        // One virtual router per (interface, VRID, family): they share the virtual MAC
        // 00-00-5E-00-01-VRID / 00-00-5E-00-02-VRID (RFC 5798 §7.3).
        let mut routers: HashMap<(&str, u8, Family), &str> = HashMap::new();
        for i in instances {
            if let Some(first) = routers.insert((&i.interface, i.vrid, i.family), &i.name) {
                self.err(
                    &format!("instances.{}.vrid", i.name),
                    format!(
                        "VRID {} is already used on {} for {} by instance `{first}`; allowed: one instance per interface, VRID and family (RFC 5798 §7.3: they share the virtual MAC)",
                        i.vrid, i.interface, i.family.name()
                    ),
                );
                routers.insert((&i.interface, i.vrid, i.family), first);
            }
        }
        let mut owners: HashMap<(String, IpAddr), String> = HashMap::new();
        for i in instances {
            let lists = [
                ("virtual_addresses", &i.virtual_addresses),
                ("excluded_addresses", &i.excluded_addresses),
            ];
            for (list, addrs) in lists {
                for (k, a) in addrs.iter().enumerate() {
                    let dev = a.device.clone().unwrap_or_else(|| i.interface.clone());
                    let here = format!("instances.{}.{list}[{k}]", i.name);
                    match owners.get(&(dev.clone(), a.address)) {
                        Some(first) => {
                            let msg = format!(
                                "{} on {dev} is already configured at {first}; allowed: each address once per interface",
                                a.address
                            );
                            self.err(&here, msg);
                        }
                        None => {
                            owners.insert((dev, a.address), here);
                        }
                    }
                }
            }
        }
    }

    fn sync_group(&mut self, name: String, g: RawSyncGroup, instances: &[Instance]) -> SyncGroup {
        let path = join("sync_groups", &name);
        if g.instances.is_empty() {
            self.err(
                &join(&path, "instances"),
                "empty sync group; allowed: one or more instance names",
            );
        }
        let mut members: Vec<String> = Vec::new();
        for (i, m) in g.instances.iter().enumerate() {
            let at = format!("{path}.instances[{i}]");
            if !instances.iter().any(|x| x.name == *m) {
                let known: Vec<&str> = instances.iter().map(|x| x.name.as_str()).collect();
                self.err(
                    &at,
                    format!("unknown instance `{m}`; defined: {}", known.join(", ")),
                );
            } else if members.contains(m) {
                self.err(&at, format!("instance `{m}` is listed twice"));
            } else {
                members.push(m.clone());
            }
        }
        let n = g.notify;
        let notify = GroupNotify {
            master: n
                .master
                .map(|c| self.command(&format!("{path}.notify.master"), c)),
            backup: n
                .backup
                .map(|c| self.command(&format!("{path}.notify.backup"), c)),
            fault: n
                .fault
                .map(|c| self.command(&format!("{path}.notify.fault"), c)),
            any: n
                .any
                .map(|c| self.command(&format!("{path}.notify.any"), c)),
        };
        SyncGroup {
            name,
            instances: members,
            notify,
        }
    }

    /// keepalived: an instance belongs to at most one sync group.
    fn group_membership(&mut self, groups: &[SyncGroup]) {
        let mut seen: HashMap<&str, &str> = HashMap::new();
        for g in groups {
            for (i, m) in g.instances.iter().enumerate() {
                if let Some(first) = seen.insert(m, &g.name) {
                    self.err(
                        &format!("sync_groups.{}.instances[{i}]", g.name),
                        format!("instance `{m}` is already in sync group `{first}`; allowed: one group per instance"),
                    );
                    seen.insert(m, first);
                }
            }
        }
    }
}

/// The host name (keepalived's default router_id).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "vrrp-agent".to_owned())
}
