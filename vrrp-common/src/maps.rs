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
/// The Master a Backup currently follows, indexed by [`router_index`]. Value [`MasterRecord`]
/// (advert absorption, see ARCHITECTURE.md).
pub const MAP_MASTERS: &str = "MASTERS";

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

/// Value of [`MAP_MASTERS`]: the routine advert a Backup expects from its Master. The agent writes
/// the whole record (with `last_seen_ns`/`absorbed` zero) when its core has accepted an advert from
/// the Master in Backup, and writes `enabled = 0` on anything else. The XDP program, for an advert
/// that passed every RFC 5798 §7.1 screen on a router whose role is Backup, drops it when the record
/// is enabled and every field matches (the agent then learns of it from `last_seen_ns`), and passes
/// it otherwise. Only the XDP program writes `last_seen_ns` (CLOCK_MONOTONIC, `bpf_ktime_get_ns`,
/// the clock of the agent's `Clock`) and `absorbed` (approximate: plain stores from several CPUs;
/// the per-CPU counter `vrrp_absorbed` is exact).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MasterRecord {
    /// IP source of the Master's adverts; IPv4 in the first 4 bytes, the rest zero.
    pub src: [u8; 16],
    /// [`advert_digest`] of the whole advert (header, addresses, v2 authentication data).
    pub digest: u32,
    /// The advert's interval field as on the wire: v3 Max Adver Int (12 bits, centiseconds),
    /// v2 Adver Int (seconds).
    pub interval: u16,
    /// The Master's priority (never 0: a priority-0 advert always goes up, RFC 5798 §6.4.2).
    pub priority: u8,
    /// VRRP version of the adverts (2 or 3).
    pub version: u8,
    /// 1: absorb matching adverts; 0: pass everything up.
    pub enabled: u8,
    pub _pad: [u8; 7],
    /// Written by XDP: when the last matching advert was absorbed (CLOCK_MONOTONIC ns).
    pub last_seen_ns: u64,
    /// Written by XDP: how many adverts this record absorbed (approximate).
    pub absorbed: u64,
}

impl MasterRecord {
    /// The enabled record for an advert: `msg` is the VRRP message as received (trailing bytes
    /// after the message are ignored), `src` its IP source (`V4` padded with zeros, as in
    /// [`MasterRecord::src`]). `None` for a message too short for its count, of an unknown
    /// version, or with priority 0 (never absorbed).
    pub fn for_advert(family: Family, src: [u8; 16], msg: &[u8]) -> Option<MasterRecord> {
        if msg.len() < 8 {
            return None;
        }
        let version = msg[0] >> 4;
        let n = msg[3] as usize;
        // RFC 3768 §5.3 (v2: + 8 authentication bytes) / RFC 5798 §5.2.
        let len = match (version, family) {
            (2, Family::V4) => 8 + 4 * n + 8,
            (3, Family::V4) => 8 + 4 * n,
            (3, Family::V6) => 8 + 16 * n,
            _ => return None,
        };
        let priority = msg[2];
        if msg.len() < len || priority == 0 {
            return None;
        }
        let interval = if version == 2 {
            u16::from(msg[5])
        } else {
            u16::from_be_bytes([msg[4], msg[5]]) & 0x0fff
        };
        Some(MasterRecord {
            src,
            digest: advert_digest(&msg[..len]),
            interval,
            priority,
            version,
            enabled: 1,
            ..MasterRecord::default()
        })
    }

    /// Whether an advert with these fields (`src` padded like [`MasterRecord::src`]) is the
    /// routine advert this record describes. Priority 0 never matches.
    #[inline(always)]
    pub fn matches(
        &self,
        src: &[u8; 16],
        version: u8,
        priority: u8,
        interval: u16,
        digest: u32,
    ) -> bool {
        self.enabled == 1
            && priority != 0
            && self.priority == priority
            && self.version == version
            && self.interval == interval
            && self.digest == digest
            && self.src == *src
    }
}

/// Positional digest of a VRRP message (`msg.len()` even): over its big-endian 16-bit words
/// `w1..wn`, `a_k = w1 + .. + wk` and the digest is `a_1 + .. + a_n` (Fletcher-style, wrapping
/// u32), so reordered or compensating changes are caught too (not a cryptographic hash: VRRPv3 has
/// no authentication, anyone on the link can send adverts anyway). The XDP program computes the
/// same value over packet memory in `csum::sum_and_digest`.
pub fn advert_digest(msg: &[u8]) -> u32 {
    let mut a = 0u32;
    let mut d = 0u32;
    let mut i = 0;
    while i + 1 < msg.len() {
        a = a.wrapping_add(u32::from(u16::from_be_bytes([msg[i], msg[i + 1]])));
        d = d.wrapping_add(a);
        i += 2;
    }
    d
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
pub const MAP_SPECS: [MapSpec; 7] = [
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
    MapSpec {
        name: MAP_MASTERS,
        kind: MapKind::Array,
        key_size: 4,
        value_size: core::mem::size_of::<MasterRecord>() as u32,
        max_entries: ROUTER_SLOTS,
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
    unsafe impl aya::Pod for super::MasterRecord {}
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
    fn master_record_layout_is_fixed() {
        assert_eq!(core::mem::size_of::<MasterRecord>(), 48);
        assert_eq!(core::mem::align_of::<MasterRecord>(), 8);
        assert_eq!(core::mem::offset_of!(MasterRecord, digest), 16);
        assert_eq!(core::mem::offset_of!(MasterRecord, interval), 20);
        assert_eq!(core::mem::offset_of!(MasterRecord, priority), 22);
        assert_eq!(core::mem::offset_of!(MasterRecord, version), 23);
        assert_eq!(core::mem::offset_of!(MasterRecord, enabled), 24);
        assert_eq!(core::mem::offset_of!(MasterRecord, last_seen_ns), 32);
        assert_eq!(core::mem::offset_of!(MasterRecord, absorbed), 40);
    }

    fn rec() -> MasterRecord {
        MasterRecord {
            src: [192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            digest: 7,
            interval: 100,
            priority: 100,
            version: 3,
            enabled: 1,
            ..MasterRecord::default()
        }
    }

    #[test]
    fn master_record_matches_only_the_same_advert() {
        let r = rec();
        let src = r.src;
        assert!(r.matches(&src, 3, 100, 100, 7));
        let mut other = src;
        other[3] = 2;
        assert!(!r.matches(&other, 3, 100, 100, 7));
        assert!(!r.matches(&src, 2, 100, 100, 7));
        assert!(!r.matches(&src, 3, 101, 100, 7));
        assert!(!r.matches(&src, 3, 100, 200, 7));
        assert!(!r.matches(&src, 3, 100, 100, 8));
        // Disabled, or priority 0 (even if recorded as such), never matches.
        assert!(!MasterRecord { enabled: 0, ..r }.matches(&src, 3, 100, 100, 7));
        assert!(!MasterRecord { priority: 0, ..r }.matches(&src, 3, 0, 100, 7));
    }

    #[test]
    fn record_for_advert_reads_the_header_and_skips_priority_zero() {
        let src = rec().src;
        // v3, VRID 1, priority 100, 1 address, interval 100 cs, checksum 0x1234, 192.0.2.100.
        let m = [
            0x31, 1, 100, 1, 0x00, 0x64, 0x12, 0x34, 192, 0, 2, 100, 0xee, 0xee,
        ];
        let r = MasterRecord::for_advert(Family::V4, src, &m).unwrap();
        assert_eq!(
            (r.version, r.priority, r.interval, r.enabled),
            (3, 100, 100, 1)
        );
        // Trailing bytes beyond the message are not part of the digest.
        assert_eq!(r.digest, advert_digest(&m[..12]));
        assert!(r.matches(&src, 3, 100, 100, advert_digest(&m[..12])));
        let mut zero = m;
        zero[2] = 0;
        assert_eq!(MasterRecord::for_advert(Family::V4, src, &zero), None);
        assert_eq!(MasterRecord::for_advert(Family::V4, src, &m[..10]), None);
        assert_eq!(MasterRecord::for_advert(Family::V6, src, &m), None);
        // v2: Adver Int is byte 5, in seconds; 8 bytes of authentication data follow.
        let v2 = [
            0x21, 1, 100, 1, 0, 1, 0, 0, 192, 0, 2, 100, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let r = MasterRecord::for_advert(Family::V4, src, &v2).unwrap();
        assert_eq!((r.version, r.interval), (2, 1));
    }

    #[test]
    fn advert_digest_is_positional() {
        let a = [0x31, 0x01, 0x64, 0x01, 0x00, 0x64, 0, 0, 10, 0, 0, 1];
        let mut swapped = a;
        swapped[8..12].copy_from_slice(&[0, 1, 10, 0]);
        assert_ne!(advert_digest(&a), advert_digest(&swapped));
        // Compensating changes (one word +1, another -1) keep a plain sum but not the digest.
        let mut comp = a;
        comp[9] = 1;
        comp[11] = 0;
        assert_ne!(advert_digest(&a), advert_digest(&comp));
        assert_eq!(advert_digest(&[0, 1, 0, 2]), 1 + 3);
    }

    #[test]
    fn router_index_separates_families() {
        assert_eq!(router_index(Family::V4, 0), 0);
        assert_eq!(router_index(Family::V4, 255), 255);
        assert_eq!(router_index(Family::V6, 1), 257);
        assert!(router_index(Family::V6, 255) < ROUTER_SLOTS);
    }
}
