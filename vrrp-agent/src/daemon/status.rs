//! What `vrrp-agent status` shows: a serialisable snapshot of every instance (election state,
//! priorities, master, last transition with its reason, counters) and every data plane.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole daemon.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    pub router_id: String,
    pub uptime_ms: u64,
    pub instances: Vec<InstanceStatus>,
    pub interfaces: Vec<InterfaceStatus>,
    /// LVS services and real servers (absent without virtual servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lvs: Option<LvsStatus>,
}

/// One instance.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct InstanceStatus {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub family: String,
    pub version: u8,
    /// INIT, BACKUP, MASTER or FAULT.
    pub state: String,
    /// Why the instance cannot run, if it cannot (e.g. its interface is missing).
    pub fault: Option<String>,
    pub priority: u8,
    pub effective_priority: u8,
    pub primary_address: Option<String>,
    /// The current Master's address as learned from adverts (ours when Master).
    pub master_address: Option<String>,
    pub advert_interval_ms: u64,
    pub master_down_interval_us: u64,
    pub last_transition: Option<TransitionStatus>,
    pub virtual_addresses: Vec<String>,
    pub counters: BTreeMap<String, u64>,
}

/// The last transition.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TransitionStatus {
    pub from: String,
    pub to: String,
    pub reason: String,
    /// Milliseconds since the daemon started.
    pub at_ms: u64,
}

/// One interface's XDP data plane.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct InterfaceStatus {
    pub name: String,
    pub ifindex: u32,
    pub xdp_mode: String,
    /// Data-plane counters summed over CPUs (only non-zero ones).
    pub counters: BTreeMap<String, u64>,
    /// Frames the agent sent out of this interface over AF_PACKET, and the `sendmmsg` calls that
    /// carried them (adverts due in the same event-loop turn share one call).
    #[serde(default)]
    pub tx_frames: u64,
    #[serde(default)]
    pub tx_syscalls: u64,
}

/// The LVS side: where the table is programmed, the IPVS worker's state, every virtual server.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LvsStatus {
    /// `all_nodes` or `master`.
    pub program_on: String,
    /// Whether the kernel offers IPVS (the generic-netlink family exists).
    pub ipvs_available: bool,
    /// Whether the kernel table matched the desired one at the last pass.
    pub in_sync: bool,
    /// The last error of the IPVS worker (operation and object), if the last pass failed.
    pub last_error: Option<String>,
    /// IPVS operations applied, repairs of drift among them, and reconcile passes.
    pub ops_applied: u64,
    pub repairs: u64,
    pub passes: u64,
    pub virtual_servers: Vec<VirtualServerStatus>,
}

/// One virtual server.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct VirtualServerStatus {
    pub name: String,
    /// As ipvsadm names it: `TCP 192.0.2.10:80`, `FWM 7 IPv4`.
    pub service: String,
    pub scheduler: String,
    pub instance: Option<String>,
    /// Whether the service belongs in this node's table now (`lvs.program_on`).
    pub programmed: bool,
    pub quorum: u32,
    pub quorum_held: bool,
    /// Sum of the weights of the healthy real servers.
    pub alive_weight: u64,
    pub real_servers: Vec<RealServerStatus>,
}

/// One real server.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RealServerStatus {
    /// `addr:port` / `[addr]:port`.
    pub address: String,
    /// Check type: tcp, http, https, script or none.
    pub check: String,
    pub healthy: bool,
    /// Why the last check failed (or what it saw), if anything.
    pub detail: Option<String>,
    pub checks: u64,
    pub failures: u64,
    /// Configured weight.
    pub weight: u32,
    /// Weight in the kernel table as last read back; None = not in the table.
    pub kernel_weight: Option<u32>,
}

impl Status {
    /// A human-readable table.
    pub fn render(&self) -> String {
        let mut s = format!(
            "router {} (up {:.1} s)\n",
            self.router_id,
            self.uptime_ms as f64 / 1000.0
        );
        s.push_str(&format!(
            "{:<16} {:<10} {:>4} {:<4} {:<7} {:>4} {:>4}  {:<26} {}\n",
            "INSTANCE",
            "INTERFACE",
            "VRID",
            "FAM",
            "STATE",
            "PRIO",
            "EFF",
            "MASTER",
            "LAST TRANSITION"
        ));
        for i in &self.instances {
            let last = i.last_transition.as_ref().map_or_else(String::new, |t| {
                format!(
                    "{} -> {} ({}) at {:.3} s",
                    t.from,
                    t.to,
                    t.reason,
                    t.at_ms as f64 / 1000.0
                )
            });
            let state = if let Some(f) = &i.fault {
                format!("{} ({f})", i.state)
            } else {
                i.state.clone()
            };
            s.push_str(&format!(
                "{:<16} {:<10} {:>4} {:<4} {:<7} {:>4} {:>4}  {:<26} {}\n",
                i.name,
                i.interface,
                i.vrid,
                i.family,
                state,
                i.priority,
                i.effective_priority,
                i.master_address.as_deref().unwrap_or("-"),
                last
            ));
        }
        for d in &self.interfaces {
            s.push_str(&format!(
                "\ninterface {} (ifindex {}, XDP {}): {} frames sent in {} sendmmsg calls\n",
                d.name, d.ifindex, d.xdp_mode, d.tx_frames, d.tx_syscalls
            ));
            for (k, v) in &d.counters {
                s.push_str(&format!("  {k:<24} {v}\n"));
            }
        }
        if let Some(l) = &self.lvs {
            s.push_str(&format!(
                "\nLVS (program_on {}): IPVS {}, {}, {} ops applied ({} repairs) in {} passes\n",
                l.program_on,
                if l.ipvs_available {
                    "available"
                } else {
                    "UNAVAILABLE"
                },
                if l.in_sync { "in sync" } else { "NOT in sync" },
                l.ops_applied,
                l.repairs,
                l.passes
            ));
            if let Some(e) = &l.last_error {
                s.push_str(&format!("  last error: {e}\n"));
            }
            for v in &l.virtual_servers {
                s.push_str(&format!(
                    "{:<16} {} {} quorum {} ({}, alive weight {}){}{}\n",
                    v.name,
                    v.service,
                    v.scheduler,
                    if v.quorum_held { "held" } else { "LOST" },
                    v.quorum,
                    v.alive_weight,
                    v.instance
                        .as_ref()
                        .map_or_else(String::new, |i| format!(" instance {i}")),
                    if v.programmed {
                        ""
                    } else {
                        " (not programmed here)"
                    }
                ));
                for r in &v.real_servers {
                    s.push_str(&format!(
                        "  {:<28} {:<6} {:<5} weight {:>5} kernel {:>5}  {}\n",
                        r.address,
                        r.check,
                        if r.healthy { "UP" } else { "DOWN" },
                        r.weight,
                        r.kernel_weight
                            .map_or_else(|| "-".to_string(), |w| w.to_string()),
                        r.detail.as_deref().unwrap_or("")
                    ));
                }
            }
        }
        s
    }
}
