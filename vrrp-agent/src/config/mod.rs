//! The YAML configuration of vrrp-agent: load, validate, apply RFC / keepalived defaults.
//!
//! `Config::load(path)` (or `Config::from_str(text, origin)`) returns a typed, validated
//! [`Config`] the daemon consumes, or a [`ConfigError`] listing every problem as
//! `FILE:LINE:COLUMN: field.path: message` with what is allowed. Problems that are not errors at
//! check time (an interface missing on this host) are in [`Config::warnings`].
//!
//! The schema follows keepalived's concepts (see `etc/vrrp-agent.example.yaml` for the annotated
//! mapping): `global` = global_defs, `scripts` = vrrp_script, `instances` = vrrp_instance,
//! `sync_groups` = vrrp_sync_group, `virtual_servers` = virtual_server (see [`lvs`]).

mod duration;
mod error;
pub mod lvs;
mod raw;
mod raw_lvs;
mod spans;
mod validate;
mod validate_lvs;

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

pub use duration::{ConfigDuration, format_duration, parse_duration};
pub use error::{ConfigError, Diagnostic};
pub use spans::Position;

/// The validated configuration: every default filled in. Serialises to the effective config in
/// the input schema (`vrrp-agent check` prints it; loading that output gives the same `Config`).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Daemon-wide settings (keepalived global_defs).
    pub global: Global,
    /// Track scripts by name, in file order (keepalived vrrp_script).
    pub scripts: Vec<Script>,
    /// VRRP instances, in file order (keepalived vrrp_instance).
    pub instances: Vec<Instance>,
    /// Sync groups, in file order (keepalived vrrp_sync_group).
    pub sync_groups: Vec<SyncGroup>,
    /// LVS settings (no keepalived equivalent; see [`lvs::LvsGlobal`]).
    pub lvs: lvs::LvsGlobal,
    /// LVS virtual servers, in file order (keepalived virtual_server).
    pub virtual_servers: Vec<lvs::VirtualServer>,
    /// Non-fatal findings of the check (e.g. interface missing on this host).
    warnings: Vec<Diagnostic>,
}

/// Daemon-wide settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Global {
    /// Name of this node in logs and notifications (keepalived router_id; default: host name).
    pub router_id: String,
    /// FIFO that receives one line per transition (keepalived vrrp_notify_fifo); none by default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notify_fifo: Option<PathBuf>,
    /// Unix control socket for `vrrp-agent status` (default /run/vrrp-agent/control.sock).
    pub control_socket: PathBuf,
    /// Refuse scripts that are not root-owned or are writable by group/other
    /// (keepalived enable_script_security; default true here, false in keepalived).
    pub enable_script_security: bool,
    /// Default user for scripts and notify commands (keepalived script_user); none: run as root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_user: Option<String>,
    /// XDP data-plane settings (no keepalived equivalent).
    pub dataplane: Dataplane,
    /// Defaults for every instance.
    pub defaults: Defaults,
}

/// How the XDP program is attached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum XdpMode {
    /// Native (driver) mode if the driver supports it, else generic (SKB) mode.
    Auto,
    /// Native mode only; attaching fails if the driver lacks XDP support.
    Driver,
    /// Generic (SKB) mode, works on every interface (veth in tests, slower).
    Generic,
}

/// XDP data-plane settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Dataplane {
    /// Attach mode (default auto).
    pub xdp_mode: XdpMode,
    /// Dead-man bound: the XDP program stops answering for VIPs when the agent's heartbeat is
    /// older than this (default 3s; allowed 100ms..60s).
    pub deadman_timeout: ConfigDuration,
    /// Advert absorption (default true): on a Backup the XDP program drops the Master's routine
    /// adverts and the agent re-arms its Master_Down_Timer from their arrival time (see
    /// ARCHITECTURE.md "Advert absorption"). False: every valid advert goes up to the agent.
    pub absorb_adverts: bool,
}

/// Defaults applied to every instance that does not set the key itself.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Defaults {
    /// VRRP version (keepalived vrrp_version; default 3 here, 2 in keepalived).
    pub version: Version,
    /// Advertisement interval (keepalived advert_int; default 1s).
    pub advert_interval: ConfigDuration,
    /// Priority (keepalived priority; default 100).
    pub priority: u8,
    /// Gratuitous ARP / unsolicited NA settings (keepalived vrrp_garp_*).
    pub garp: Garp,
    /// keepalived vrrp_lower_prio_no_advert (default true: RFC 5798 §6.4.3, a Master discards
    /// a lower-priority advert without answering; keepalived defaults to false).
    pub lower_prio_no_advert: bool,
    /// keepalived vrrp_higher_prio_send_advert (default false).
    pub higher_prio_send_advert: bool,
}

/// VRRP protocol version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Version {
    /// VRRPv2, RFC 3768: IPv4 only, advert interval in whole seconds.
    V2,
    /// VRRPv3, RFC 5798: IPv4 and IPv6, advert interval in centiseconds.
    V3,
}

impl Version {
    /// The version number on the wire.
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.number())
    }
}

/// Address family of an instance (VRRP runs one instance per family, RFC 5798 §1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    /// The family of an address.
    pub const fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }

    /// "ipv4" / "ipv6".
    pub const fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }
}

/// Gratuitous ARP (IPv4, RFC 826 / RFC 5798 §8.1.2) and unsolicited NA (IPv6, RFC 4861 §7.2.6)
/// announcements on becoming Master.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Garp {
    /// Delay of the second burst after becoming Master; 0 = no second burst
    /// (keepalived garp_master_delay, default 5s).
    pub delay: ConfigDuration,
    /// Messages per burst (keepalived garp_master_repeat, default 5; allowed 1..255).
    pub repeat: u32,
    /// Gap between messages of a burst (keepalived garp_interval / gna_interval, default 0;
    /// allowed up to 1s).
    pub interval: ConfigDuration,
    /// Period of refresh bursts while Master; 0 = off (keepalived garp_master_refresh, default 0).
    pub refresh: ConfigDuration,
    /// Messages per refresh burst (keepalived garp_master_refresh_repeat, default 1; 1..255).
    pub refresh_repeat: u32,
}

/// A track script (keepalived vrrp_script).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Script {
    /// Name used in `track.scripts`.
    #[serde(skip)]
    pub name: String,
    /// argv; `command[0]` is the program.
    pub command: Vec<String>,
    /// Period between runs (default 1s, keepalived's default).
    pub interval: ConfigDuration,
    /// A run still going after this is killed and counts as a failure (default = interval;
    /// must not exceed interval).
    pub timeout: ConfigDuration,
    /// Priority change (keepalived weight, -253..253, default 0 = failure puts tracking
    /// instances in Fault). Positive: added while OK; negative: added while failed.
    pub weight: i16,
    /// Consecutive successes to become OK (default 1).
    pub rise: u32,
    /// Consecutive failures to become failed (default 1).
    pub fall: u32,
    /// User to run as (default global.script_user, else root).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// A VRRP instance (keepalived vrrp_instance): one virtual router on one interface and family.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Instance {
    /// Instance name (the key under `instances`).
    #[serde(skip)]
    pub name: String,
    /// Interface the adverts are sent and received on.
    pub interface: String,
    /// Virtual Router ID, 1..255 (RFC 5798 §5.2.3).
    pub vrid: u8,
    /// Protocol version.
    pub version: Version,
    /// Address family (inferred from the virtual addresses when not set).
    pub family: Family,
    /// Configured priority, 1..255 (RFC 5798 §5.2.4); 255 only for the address owner.
    pub priority: u8,
    /// This router owns the virtual addresses as real interface addresses
    /// (RFC 5798 §3 "IP Address Owner"; priority 255, always accepts).
    pub address_owner: bool,
    /// Advertisement interval: v2 whole seconds 1..255 (RFC 3768 §5.3.7),
    /// v3 10ms..40.95s in 10 ms steps (RFC 5798 §5.2.7).
    pub advert_interval: ConfigDuration,
    /// Preempt_Mode (RFC 5798 §6.1; keepalived nopreempt = false; default true).
    pub preempt: bool,
    /// Wait this long before preempting a lower-priority Master (keepalived preempt_delay,
    /// 0..1000s, default 0).
    pub preempt_delay: ConfigDuration,
    /// Accept_Mode (RFC 5798 §6.1; keepalived accept / no_accept). Default true, as keepalived
    /// without vrrp_strict and as LVS needs (IPVS takes only packets to local addresses). False:
    /// a non-owner Master answers ARP/ND and forwards for the VIPs but does not install them as
    /// local addresses, so its stack does not accept packets addressed to them.
    pub accept_mode: bool,
    /// Source address of unicast adverts (keepalived unicast_src_ip).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unicast_src: Option<IpAddr>,
    /// Unicast peers; empty = multicast to 224.0.0.18 / ff02::12 (keepalived unicast_peer).
    pub unicast_peers: Vec<IpAddr>,
    /// VRRPv2 authentication (RFC 2338 §5.3.6 simple password; keepalived authentication).
    pub authentication: Authentication,
    /// Addresses carried in adverts and added on Master (keepalived virtual_ipaddress).
    pub virtual_addresses: Vec<VirtualAddress>,
    /// Addresses added on Master but not advertised (keepalived virtual_ipaddress_excluded);
    /// may be of either family.
    pub excluded_addresses: Vec<VirtualAddress>,
    /// Announcement settings (global defaults overridden per key).
    pub garp: Garp,
    /// What changes the effective priority or forces Fault.
    pub track: Track,
    /// Commands run on transitions.
    pub notify: Notify,
    /// keepalived lower_prio_no_advert.
    pub lower_prio_no_advert: bool,
    /// keepalived higher_prio_send_advert.
    pub higher_prio_send_advert: bool,
    /// Compute the VRRPv3 IPv4 checksum over the VRRP message only, without the pseudo-header,
    /// like v2 (interop with routers that do so; default false).
    pub v3_checksum_as_v2: bool,
}

/// VRRPv2 authentication.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Authentication {
    /// No authentication (type 0).
    None,
    /// Simple text password, 1..8 bytes, zero-padded on the wire (type 1, RFC 2338 §5.3.6).
    Pass {
        /// The password.
        password: String,
    },
}

/// A virtual address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualAddress {
    /// The address.
    pub address: IpAddr,
    /// Prefix length (default /32 or /128, like keepalived).
    pub prefix: u8,
    /// Interface to add it on (default: the instance's interface).
    pub device: Option<String>,
    /// Address label (`ip addr ... label`), IPv4 only.
    pub label: Option<String>,
}

impl std::fmt::Display for VirtualAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix)?;
        if let Some(d) = &self.device {
            write!(f, " dev {d}")?;
        }
        if let Some(l) = &self.label {
            write!(f, " label {l}")?;
        }
        Ok(())
    }
}

impl Serialize for VirtualAddress {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Tracked objects.
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
pub struct Track {
    /// Track scripts (names of `scripts` entries) with their effective weight.
    pub scripts: Vec<TrackedScript>,
    /// Interfaces whose link state is tracked.
    pub interfaces: Vec<TrackedInterface>,
    /// Files whose integer content is tracked.
    pub files: Vec<TrackedFile>,
}

/// A tracked script in an instance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrackedScript {
    /// Name of the script in `scripts`.
    pub name: String,
    /// Weight: the instance's override, else the script's weight (-253..253).
    pub weight: i16,
}

/// A tracked interface.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrackedInterface {
    /// Interface name.
    pub name: String,
    /// -253..253; 0 (default) = link down puts the instance in Fault; negative: added while
    /// down; positive: added while up (keepalived track_interface).
    pub weight: i16,
}

/// A tracked file.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrackedFile {
    /// Absolute path of the file; its content is read as an integer.
    pub path: PathBuf,
    /// -254..254, default 1: value × weight is added to the priority; with weight 0 a
    /// non-zero value means Fault (keepalived track_file).
    pub weight: i16,
}

/// Instance notify commands. Each runs with keepalived's trailing arguments
/// ("INSTANCE", name, state, priority) appended for `any`.
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
pub struct Notify {
    /// On becoming Master (keepalived notify_master).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<Vec<String>>,
    /// On becoming Backup (keepalived notify_backup).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<Vec<String>>,
    /// On entering Fault (keepalived notify_fault).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Vec<String>>,
    /// When the instance stops (keepalived notify_stop).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop: Option<Vec<String>>,
    /// On every transition, with type, name, state, priority appended (keepalived notify).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<String>>,
}

/// Sync group notify commands (no `stop`: keepalived has none for groups).
#[derive(Clone, Debug, PartialEq, Default, Serialize)]
pub struct GroupNotify {
    /// keepalived notify_master.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<Vec<String>>,
    /// keepalived notify_backup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup: Option<Vec<String>>,
    /// keepalived notify_fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Vec<String>>,
    /// keepalived notify, with "GROUP", name, state, priority appended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub any: Option<Vec<String>>,
}

/// A sync group: member instances change state together (keepalived vrrp_sync_group).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SyncGroup {
    /// Group name.
    #[serde(skip)]
    pub name: String,
    /// Names of member instances; each instance belongs to at most one group.
    pub instances: Vec<String>,
    /// Group notify commands.
    pub notify: GroupNotify,
}

/// Something with a name that serialises as a key of a mapping.
trait Named {
    fn name(&self) -> &str;
}
impl Named for Script {
    fn name(&self) -> &str {
        &self.name
    }
}
impl Named for Instance {
    fn name(&self) -> &str {
        &self.name
    }
}
impl Named for lvs::VirtualServer {
    fn name(&self) -> &str {
        &self.name
    }
}
impl Named for SyncGroup {
    fn name(&self) -> &str {
        &self.name
    }
}

struct ByName<'a, T>(&'a [T]);

impl<T: Named + Serialize> Serialize for ByName<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for item in self.0 {
            m.serialize_entry(item.name(), item)?;
        }
        m.end()
    }
}

impl Serialize for Config {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("global", &self.global)?;
        m.serialize_entry("scripts", &ByName(&self.scripts))?;
        m.serialize_entry("instances", &ByName(&self.instances))?;
        m.serialize_entry("sync_groups", &ByName(&self.sync_groups))?;
        if !self.virtual_servers.is_empty() || self.lvs != lvs::LvsGlobal::default() {
            m.serialize_entry("lvs", &self.lvs)?;
            m.serialize_entry("virtual_servers", &ByName(&self.virtual_servers))?;
        }
        m.end()
    }
}

impl Config {
    /// Reads and validates the file at `path`. Errors name the path as given.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::single(
                &origin,
                Diagnostic::bare(format!("cannot read the file: {e}")),
            )
        })?;
        Self::from_str(&text, &origin)
    }

    /// Validates configuration `text`; `origin` (usually the file name) prefixes every message.
    /// Interfaces are looked up in /sys/class/net for the warnings.
    pub fn from_str(text: &str, origin: &str) -> Result<Config, ConfigError> {
        Self::from_str_with(text, origin, &|name| {
            Path::new("/sys/class/net").join(name).exists()
        })
    }

    /// Like [`Config::from_str`], with `interface_exists` deciding which interfaces are present
    /// (tests use a fixed list).
    pub fn from_str_with(
        text: &str,
        origin: &str,
        interface_exists: &dyn Fn(&str) -> bool,
    ) -> Result<Config, ConfigError> {
        validate::parse_and_validate(text, origin, interface_exists)
    }

    /// Non-fatal findings: each says what is wrong and where. The daemon logs them; missing
    /// interfaces become Fault at run time.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The instance named `name`.
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// The script named `name`.
    pub fn script(&self, name: &str) -> Option<&Script> {
        self.scripts.iter().find(|s| s.name == name)
    }

    /// The sync group `instance` belongs to, if any.
    pub fn sync_group_of(&self, instance: &str) -> Option<&SyncGroup> {
        self.sync_groups
            .iter()
            .find(|g| g.instances.iter().any(|m| m == instance))
    }

    /// The effective configuration as YAML (every default filled in).
    pub fn to_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_else(|e| format!("# cannot serialise: {e}\n"))
    }

    /// The effective configuration as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("\"cannot serialise: {e}\""))
    }
}
