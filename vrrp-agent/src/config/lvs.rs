//! The LVS half of the configuration (keepalived's `check` half, keepalived.conf(5)
//! "LVS CONFIGURATION"): virtual servers, their real servers and health checks, typed and
//! validated. Raw YAML lives in `raw_lvs.rs`, checks in `validate_lvs.rs`.
//!
//! keepalived mapping: `virtual_server IP PORT` / `virtual_server fwmark N` = an entry of
//! `virtual_servers`; `real_server IP PORT` = an entry of its `real_servers`; `TCP_CHECK`,
//! `HTTP_GET`, `SSL_GET`, `MISC_CHECK` = `check.type` tcp / http / https / script;
//! `lvs_sched` = `scheduler`, `lvs_method` (lb_kind) = `forwarding`, `persistence_timeout`,
//! `persistence_granularity`, `quorum`, `hysteresis`, `sorry_server`, `inhibit_on_failure`,
//! `alpha`, `delay_loop`, `connect_timeout`, `retry`, `delay_before_retry` keep their names.

use std::net::IpAddr;

use serde::{Deserialize, Serialize, Serializer};

use super::duration::ConfigDuration;

/// Daemon-wide LVS settings (no keepalived equivalent: keepalived programs every node and
/// removes its services on stop unless started with `--dont-release-ipvs`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LvsGlobal {
    /// Where the IPVS table is programmed (default `all_nodes`).
    pub program_on: ProgramOn,
    /// What happens to the agent's IPVS services when it stops (default `remove`).
    pub on_stop: OnStop,
}

impl Default for LvsGlobal {
    fn default() -> Self {
        LvsGlobal {
            program_on: ProgramOn::AllNodes,
            on_stop: OnStop::Remove,
        }
    }
}

/// Which nodes carry the IPVS services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgramOn {
    /// Every node, Master or Backup (keepalived's behaviour). The default: a Backup that takes
    /// over already has the table and its connection-sync state, so failover moves only the VIP,
    /// and the table holds no traffic while the VIP is elsewhere.
    AllNodes,
    /// Only while the virtual server's `instance` is Master (services added on becoming
    /// Master, removed on leaving it). For hosts where the same address:port must stay free
    /// on a Backup.
    Master,
}

/// What the agent does with its services when it stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStop {
    /// Delete the services it owns (keepalived's behaviour on shutdown).
    Remove,
    /// Leave them, so a restart of the agent does not disturb traffic; the next start adopts
    /// them (they carry the ownership mark) and reconciles.
    Keep,
}

/// L4 protocol of a virtual server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

/// What a virtual server matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum VsTarget {
    /// `address:port/protocol` (keepalived `virtual_server IP PORT` + `protocol`).
    Addr {
        /// Virtual address (normally a VIP of a VRRP instance).
        address: IpAddr,
        /// Port, 1..65535; 0 only with persistence (keepalived's "all ports" service).
        port: u16,
        /// Protocol (default tcp).
        protocol: Protocol,
    },
    /// A firewall mark (keepalived `virtual_server fwmark N`), of one family.
    Fwmark {
        /// Mark, 1..2^32-1.
        fwmark: u32,
        /// Family of the real servers (default ipv4).
        family: super::Family,
    },
}

/// Packet forwarding method (keepalived `lvs_method` / `lb_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Forwarding {
    /// NAT / masquerading (`ipvsadm -m`), the default as in keepalived.
    Nat,
    /// Direct routing (`ipvsadm -g`).
    Dr,
    /// IP-in-IP tunnel (`ipvsadm -i`).
    Tun,
}

/// Persistence (keepalived `persistence_timeout` / `persistence_granularity`). Serialised
/// flat into the virtual server under those two keys, as written in the input.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Persistence {
    /// Seconds a client stays on its real server after its last connection (1..2^31-1).
    #[serde(rename = "persistence_timeout")]
    pub timeout: u32,
    /// Client grouping as a prefix length (default 32 / 128: per client address; keepalived
    /// writes an IPv4 netmask, which the input also accepts).
    #[serde(rename = "persistence_granularity")]
    pub prefix: u8,
}

/// A virtual server (keepalived `virtual_server`). The input's virtual-server-level
/// `inhibit_on_failure`, `delay_loop` and `check` are defaults, folded into each real server
/// (the effective config prints them per real server).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct VirtualServer {
    /// Name (the key under `virtual_servers`), used in logs and status.
    #[serde(skip)]
    pub name: String,
    /// What it matches.
    #[serde(flatten)]
    pub target: VsTarget,
    /// IPVS scheduler (keepalived `lvs_sched`, default wlc as ipvsadm): rr, wrr, lc, wlc, lblc,
    /// lblcr, dh, sh, mh, sed, nq, fo, ovf, twos.
    pub scheduler: String,
    /// Scheduler flags: `flag-1`..`flag-3`, or their names for sh (`sh-fallback`, `sh-port`)
    /// and mh (`mh-fallback`, `mh-port`).
    pub scheduler_flags: Vec<String>,
    /// One-packet scheduling for UDP (keepalived `ops`).
    pub ops: bool,
    /// Persistence, if any (`persistence_timeout` set).
    #[serde(flatten)]
    pub persistence: Option<Persistence>,
    /// Default forwarding method of the real servers (default nat, as keepalived).
    pub forwarding: Forwarding,
    /// The VRRP instance whose VIP this is: with `lvs.program_on: master` the service exists
    /// only while that instance is Master, and `quorum_weight` applies to its priority.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Sum of the weights of healthy real servers needed for quorum (default 1).
    pub quorum: u32,
    /// Quorum is lost below `quorum - hysteresis` and regained at `quorum + hysteresis`
    /// (default 0).
    pub hysteresis: u32,
    /// Added to `instance`'s priority while quorum is lost (-253..253; default 0: quorum loss
    /// changes no priority, as in keepalived).
    pub quorum_weight: i16,
    /// Commands run when quorum is regained / lost (keepalived `quorum_up` / `quorum_down`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_up: Option<Vec<String>>,
    /// See `quorum_up`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum_down: Option<Vec<String>>,
    /// Real server added while no real server is healthy (keepalived `sorry_server`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorry_server: Option<SorryServer>,
    /// The real servers, in file order.
    pub real_servers: Vec<RealServer>,
}

/// The server used while no real server is up.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct SorryServer {
    /// Address.
    pub address: IpAddr,
    /// Port (ignored by the kernel for dr / tun).
    pub port: u16,
    /// Forwarding method (default: the virtual server's).
    pub forwarding: Forwarding,
}

/// A real server (keepalived `real_server`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RealServer {
    /// Address.
    pub address: IpAddr,
    /// Port (default: the virtual server's port; 0 for fwmark services).
    pub port: u16,
    /// Weight while healthy, 0..65535 (default 1; 0 = quiesced: no new connections).
    pub weight: u32,
    /// Forwarding method (default: the virtual server's).
    pub forwarding: Forwarding,
    /// Upper connection threshold, 0 = none (keepalived `uthreshold`).
    pub upper_threshold: u32,
    /// Lower connection threshold, 0 = none (keepalived `lthreshold`).
    pub lower_threshold: u32,
    /// On failure, keep the server with weight 0 instead of removing it, so established
    /// connections drain (keepalived `inhibit_on_failure`; default false).
    pub inhibit_on_failure: bool,
    /// Health check (default: the virtual server's `check`; none, or `type: none` on the real
    /// server: always healthy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check: Option<Check>,
}

/// A health check of a real server.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Check {
    /// What is probed.
    #[serde(flatten)]
    pub kind: CheckKind,
    /// Period between checks (default: the virtual server's `delay_loop`, else 5s; keepalived's
    /// `delay_loop` defaults to 60s).
    pub interval: ConfigDuration,
    /// Time allowed for one attempt: connect and, for http(s), the answer; for a script, its
    /// run (keepalived `connect_timeout` / `misc_timeout`; default min(5s, interval); must not
    /// exceed `interval`).
    pub timeout: ConfigDuration,
    /// Attempts after a failed one before the check counts as failed
    /// (keepalived `retry`, default 1, at most 100).
    pub retries: u32,
    /// Pause before each retry (keepalived `delay_before_retry`, default 1s).
    pub retry_delay: ConfigDuration,
    /// Consecutive successful checks to bring a failed server back (default 1, at least 1).
    pub rise: u32,
    /// Consecutive failed checks to take a server out (default 1, at least 1).
    pub fall: u32,
    /// Start the server as failed until its first successful check (keepalived `alpha`;
    /// default false: start healthy).
    pub alpha: bool,
}

/// The kinds of health check.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum CheckKind {
    /// TCP connect (keepalived TCP_CHECK): up when the handshake completes.
    Tcp {
        /// Address to connect to (default: the real server's).
        #[serde(skip_serializing_if = "Option::is_none")]
        connect_ip: Option<IpAddr>,
        /// Port to connect to (default: the real server's).
        #[serde(skip_serializing_if = "Option::is_none")]
        connect_port: Option<u16>,
    },
    /// HTTP GET (keepalived HTTP_GET).
    Http(HttpCheck),
    /// HTTPS GET (keepalived SSL_GET).
    Https(HttpCheck),
    /// A command (keepalived MISC_CHECK): exit status 0 = up; killed after `timeout`.
    Script {
        /// argv; `command[0]` is the program.
        command: Vec<String>,
        /// User to run as (default global.script_user, else root).
        #[serde(skip_serializing_if = "Option::is_none")]
        user: Option<String>,
    },
}

/// An HTTP(S) GET check.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HttpCheck {
    /// Request path (default `/`).
    pub path: String,
    /// Host header / TLS server name (default: the address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Accepted status codes as inclusive ranges (default 200-299, keepalived's default).
    /// Serialised as the input writes them: "200-299", or 200 for a single code.
    #[serde(serialize_with = "status_ranges")]
    pub status: Vec<(u16, u16)>,
    /// MD5 of the body as 32 hex digits (keepalived `digest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// A substring the body must contain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contains: Option<String>,
    /// Address to connect to (default: the real server's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_ip: Option<IpAddr>,
    /// Port to connect to (default: the real server's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect_port: Option<u16>,
    /// Verify the server certificate (https only; default false, as keepalived SSL_GET).
    /// Printed only when true: an http check refuses the key.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub verify_tls: bool,
}

/// `[(200, 299), (302, 302)]` -> `["200-299", 302]`.
fn status_ranges<S: Serializer>(ranges: &[(u16, u16)], s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    #[serde(untagged)]
    enum Item {
        Code(u16),
        Range(String),
    }
    s.collect_seq(ranges.iter().map(|&(lo, hi)| {
        if lo == hi {
            Item::Code(lo)
        } else {
            Item::Range(format!("{lo}-{hi}"))
        }
    }))
}
