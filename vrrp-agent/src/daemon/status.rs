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
        s
    }
}
