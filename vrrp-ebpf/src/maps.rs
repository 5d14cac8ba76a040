//! The only `#[map]` statics of the XDP program. Names, key/value types and sizes come from
//! `vrrp_common::maps` (the static names equal the `MAP_*` constants); `tests/tests/xdp_contract.rs`
//! checks the built object against `vrrp_common::maps::MAP_SPECS`.

use aya_ebpf::{
    macros::map,
    maps::{Array, HashMap, PerCpuArray},
};
use vrrp_common::{
    maps::{
        Heartbeat, MAX_VIPS, MasterRecord, ROUTER_SLOTS, RouterState, Settings, Vip4Key, Vip6Key,
        VipValue,
    },
    stats::Counter,
};

/// `MAP_VIPS_V4`: IPv4 VIP -> owning VRID. Written by the agent.
#[map]
pub static VIPS_V4: HashMap<Vip4Key, VipValue> = HashMap::with_max_entries(MAX_VIPS, 0);

/// `MAP_VIPS_V6`: IPv6 VIP -> owning VRID. Written by the agent.
#[map]
pub static VIPS_V6: HashMap<Vip6Key, VipValue> = HashMap::with_max_entries(MAX_VIPS, 0);

/// `MAP_ROUTERS`: role/version/flags per (family, VRID), index `router_index`.
#[map]
pub static ROUTERS: Array<RouterState> = Array::with_max_entries(ROUTER_SLOTS, 0);

/// `MAP_SETTINGS`: the interface MAC and switches, one slot.
#[map]
pub static SETTINGS: Array<Settings> = Array::with_max_entries(1, 0);

/// `MAP_HEARTBEAT`: the agent's dead-man switch, one slot.
#[map]
pub static HEARTBEAT: Array<Heartbeat> = Array::with_max_entries(1, 0);

/// `MAP_COUNTERS`: per-CPU `u64` per [`Counter`]; only the entry function increments it.
#[map]
pub static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(Counter::COUNT as u32, 0);

/// `MAP_MASTERS`: the Master a Backup follows, per (family, VRID), index `router_index`. The agent
/// writes the record; this program writes `last_seen_ns` and `absorbed`.
#[map]
pub static MASTERS: Array<MasterRecord> = Array::with_max_entries(ROUTER_SLOTS, 0);
