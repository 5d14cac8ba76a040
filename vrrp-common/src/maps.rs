//! BPF map names, sizes, keys and values: the kernel/user contract. The XDP program declares its
//! maps from these and user space opens them by these names; `tests/` checks the object against
//! [`MAP_SPECS`] so the two sides cannot drift.

use crate::proto::Family;

/// VIP (IPv4) -> owning virtual router. Key [`Vip4Key`], value [`VipValue`].
pub const MAP_VIPS_V4: &str = "VIPS_V4";
/// VIP (IPv6) -> owning virtual router. Key [`Vip6Key`], value [`VipValue`].
pub const MAP_VIPS_V6: &str = "VIPS_V6";
/// Role of each virtual router, indexed by [`router_index`]. Value [`RouterState`].
pub const MAP_ROUTERS: &str = "ROUTERS";
/// Interface-wide settings, one slot. Value [`Settings`].
pub const MAP_SETTINGS: &str = "SETTINGS";
/// The agent's dead-man heartbeat, one slot. Value [`Heartbeat`].
pub const MAP_HEARTBEAT: &str = "HEARTBEAT";
/// Per-CPU counters indexed by [`crate::stats::Counter`]. Value `u64`.
pub const MAP_COUNTERS: &str = "COUNTERS";

/// Most VIPs per family on one interface.
pub const MAX_VIPS: u32 = 4096;
/// One slot per (family, VRID): index = family * 256 + VRID.
pub const ROUTER_SLOTS: u32 = 512;

/// Slot of a virtual router in [`MAP_ROUTERS`].
#[inline(always)]
pub const fn router_index(family: Family, vrid: u8) -> u32 {
    (family as u32) * 256 + vrid as u32
}

/// Key of [`MAP_VIPS_V4`]: the address in network byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vip4Key {
    pub addr: [u8; 4],
}

/// Key of [`MAP_VIPS_V6`]: the address in network byte order.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Vip6Key {
    pub addr: [u8; 16],
}

/// Value of the VIP maps: which virtual router (of the map's family) owns the address.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct VipValue {
    pub vrid: u8,
    pub _pad: [u8; 3],
}

/// Data-plane role of a virtual router. Anything but `Master` behaves as Backup
/// (RFC 5798 §6.4.1/§6.4.2: only the Master answers ARP/ND and accepts the virtual MAC).
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Role {
    /// No virtual router with this VRID on the interface: its adverts are dropped (RFC 5798 §7.1).
    #[default]
    Unconfigured = 0,
    Init = 1,
    Backup = 2,
    Master = 3,
}

impl Role {
    #[inline(always)]
    pub const fn from_u8(v: u8) -> Role {
        match v {
            1 => Role::Init,
            2 => Role::Backup,
            3 => Role::Master,
            _ => Role::Unconfigured,
        }
    }
}

/// [`RouterState::flags`]: also accept VRRPv3 adverts whose checksum omits the pseudo-header
/// (keepalived's `v3_checksum_as_v2`, for old peers).
pub const ROUTER_FLAG_V3_CSUM_AS_V2: u8 = 1 << 0;

/// Value of [`MAP_ROUTERS`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct RouterState {
    /// A [`Role`] as u8.
    pub role: u8,
    /// VRRP version this router runs (2 or 3); adverts of another version are dropped.
    pub version: u8,
    /// `ROUTER_FLAG_*` bits.
    pub flags: u8,
    pub _pad: u8,
}

/// [`Settings::flags`]: emit aya-log records for rare events (never per frame).
pub const SETTINGS_FLAG_LOG: u8 = 1 << 0;

/// Value of [`MAP_SETTINGS`].
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Settings {
    /// The interface's own MAC: frames to a virtual MAC are rewritten to it on a Master so the
    /// stack takes them as PACKET_HOST.
    pub if_mac: [u8; 6],
    /// `SETTINGS_FLAG_*` bits.
    pub flags: u8,
    pub _pad: u8,
}

/// Value of [`MAP_HEARTBEAT`]. Times are CLOCK_MONOTONIC_COARSE nanoseconds, the clock of
/// `bpf_ktime_get_coarse_ns()` (cheap to read on the per-frame path; tick resolution, so bounds
/// should be well above a few milliseconds). The agent must write `last_ns` from the same clock,
/// or a fresh write could look like a timestamp from the future.
/// When `now - last_ns > bound_ns` (or the slot was never written) every router is treated as
/// Backup: a dead agent leaves nothing answering for its VIPs.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Heartbeat {
    pub last_ns: u64,
    pub bound_ns: u64,
}

impl Heartbeat {
    /// Whether the heartbeat is fresh at `now_ns` (CLOCK_MONOTONIC).
    #[inline(always)]
    pub const fn is_fresh(&self, now_ns: u64) -> bool {
        self.last_ns != 0 && now_ns >= self.last_ns && now_ns - self.last_ns <= self.bound_ns
    }
}

/// The kind of a BPF map, as far as the contract cares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MapKind {
    Hash,
    Array,
    PerCpuArray,
}

/// One map of the contract: what the eBPF object must declare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapSpec {
    pub name: &'static str,
    pub kind: MapKind,
    pub key_size: u32,
    pub value_size: u32,
    pub max_entries: u32,
}

/// Every map the XDP program declares, with its layout.
pub const MAP_SPECS: [MapSpec; 6] = [
    MapSpec {
        name: MAP_VIPS_V4,
        kind: MapKind::Hash,
        key_size: core::mem::size_of::<Vip4Key>() as u32,
        value_size: core::mem::size_of::<VipValue>() as u32,
        max_entries: MAX_VIPS,
    },
    MapSpec {
        name: MAP_VIPS_V6,
        kind: MapKind::Hash,
        key_size: core::mem::size_of::<Vip6Key>() as u32,
        value_size: core::mem::size_of::<VipValue>() as u32,
        max_entries: MAX_VIPS,
    },
    MapSpec {
        name: MAP_ROUTERS,
        kind: MapKind::Array,
        key_size: 4,
        value_size: core::mem::size_of::<RouterState>() as u32,
        max_entries: ROUTER_SLOTS,
    },
    MapSpec {
        name: MAP_SETTINGS,
        kind: MapKind::Array,
        key_size: 4,
        value_size: core::mem::size_of::<Settings>() as u32,
        max_entries: 1,
    },
    MapSpec {
        name: MAP_HEARTBEAT,
        kind: MapKind::Array,
        key_size: 4,
        value_size: core::mem::size_of::<Heartbeat>() as u32,
        max_entries: 1,
    },
    MapSpec {
        name: MAP_COUNTERS,
        kind: MapKind::PerCpuArray,
        key_size: 4,
        value_size: 8,
        max_entries: crate::stats::Counter::COUNT as u32,
    },
];

#[cfg(feature = "user")]
mod pod {
    // SAFETY: all are #[repr(C)], Copy, made of integers and byte arrays with explicit padding,
    // so every bit pattern is valid and there are no implicit padding bytes.
    unsafe impl aya::Pod for super::Vip4Key {}
    unsafe impl aya::Pod for super::Vip6Key {}
    unsafe impl aya::Pod for super::VipValue {}
    unsafe impl aya::Pod for super::RouterState {}
    unsafe impl aya::Pod for super::Settings {}
    unsafe impl aya::Pod for super::Heartbeat {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeat_never_written_is_stale() {
        assert!(!Heartbeat::default().is_fresh(1_000));
    }

    #[test]
    fn heartbeat_is_fresh_up_to_the_bound_inclusive() {
        let hb = Heartbeat {
            last_ns: 1_000,
            bound_ns: 500,
        };
        assert!(hb.is_fresh(1_000));
        assert!(hb.is_fresh(1_500));
        assert!(!hb.is_fresh(1_501));
        // A timestamp from the future (clock confusion) is not trusted.
        assert!(!hb.is_fresh(999));
    }

    #[test]
    fn router_index_separates_families() {
        assert_eq!(router_index(Family::V4, 0), 0);
        assert_eq!(router_index(Family::V4, 255), 255);
        assert_eq!(router_index(Family::V6, 1), 257);
        assert!(router_index(Family::V6, 255) < ROUTER_SLOTS);
    }
}
