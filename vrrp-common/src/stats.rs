//! The data plane's per-CPU counters: one enum, one meaning per slot. User space sums the CPUs.
//! Only the XDP entry function increments them, once per frame, for the outcome it decided.

/// Why the XDP program took the verdict it took. Each frame is counted exactly once.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    /// Not ARP, ND, VRRP nor to a virtual MAC: passed untouched.
    PassOther = 0,
    /// VLAN-tagged: passed untouched (not handled; see README).
    PassVlan,
    /// Shorter than an Ethernet header, or than the header its ethertype announces.
    DropTruncated,
    /// ARP request for a VIP while its router is Master: answered with the virtual MAC (XDP_TX).
    ArpReplied,
    /// ARP request for a VIP while its router is not Master: dropped (RFC 5798 §6.4.2).
    ArpDroppedBackup,
    /// ARP request for a VIP while the agent's heartbeat is stale: dropped.
    ArpDroppedStale,
    /// ARP for an address that is not a VIP: passed.
    ArpPassNotVip,
    /// ARP reply or gratuitous ARP: passed.
    ArpPassNotRequest,
    /// ARP that is not Ethernet/IPv4 (hardware/protocol type or length): passed.
    ArpPassOtherFormat,
    /// Neighbor Solicitation for a VIP while its router is Master: answered with an NA (XDP_TX).
    NdReplied,
    /// Neighbor Solicitation for a VIP while its router is not Master: dropped (RFC 5798 §6.4.2).
    NdDroppedBackup,
    /// Neighbor Solicitation for a VIP while the agent's heartbeat is stale: dropped.
    NdDroppedStale,
    /// ICMPv6/ND not for a VIP, or not a solicitation: passed.
    NdPassNotVip,
    /// Neighbor Solicitation that fails RFC 4861 §7.1.1 checks (hop limit, code, length): dropped.
    NdDroppedInvalid,
    /// VRRP advert that passed every screen: handed to the stack.
    VrrpPassed,
    /// VRRP with TTL / hop limit other than 255 (RFC 5798 §7.1): dropped.
    VrrpBadTtl,
    /// VRRP version neither 2 nor 3, or not the router's version: dropped.
    VrrpBadVersion,
    /// VRRP type other than 1 (ADVERTISEMENT): dropped.
    VrrpBadType,
    /// VRRP length inconsistent with the address count: dropped.
    VrrpBadLength,
    /// VRRP checksum wrong: dropped.
    VrrpBadChecksum,
    /// VRRP advert for a VRID not configured on this interface (RFC 5798 §7.1): dropped.
    VrrpUnknownVrid,
    /// Frame to a virtual MAC while its router is Master: rewritten to the interface MAC, passed.
    VmacMasterPassed,
    /// Frame to a virtual MAC while its router is not Master (or stale heartbeat): dropped.
    VmacDroppedBackup,
    /// VRRP in an IPv4 fragment or behind an IPv6 Fragment header: dropped (adverts are never
    /// fragmented: at most 8 + 16 * 255 bytes, sent with TTL 255 on one link).
    VrrpDroppedFragment,
    /// Neighbor Solicitation for a VIP from the unspecified address (DAD, RFC 4862 §5.4.3):
    /// passed to the stack, which owns duplicate address detection.
    NdPassDad,
    /// Neighbor Solicitation for a VIP on a Master, but the frame could not be resized for the
    /// advertisement (`bpf_xdp_adjust_tail` failed): passed to the stack instead.
    NdPassNoRoom,
    /// Routine advert from the Master a Backup follows (map `MASTERS` record matched): dropped,
    /// its time written to the record for the agent (advert absorption).
    VrrpAbsorbed,
    /// Number of counters; not a counter.
    Count,
}

impl Counter {
    /// Number of slots in the counters map.
    pub const COUNT: usize = Counter::Count as usize;

    /// Every counter, in slot order.
    pub const ALL: [Counter; Counter::COUNT] = [
        Counter::PassOther,
        Counter::PassVlan,
        Counter::DropTruncated,
        Counter::ArpReplied,
        Counter::ArpDroppedBackup,
        Counter::ArpDroppedStale,
        Counter::ArpPassNotVip,
        Counter::ArpPassNotRequest,
        Counter::ArpPassOtherFormat,
        Counter::NdReplied,
        Counter::NdDroppedBackup,
        Counter::NdDroppedStale,
        Counter::NdPassNotVip,
        Counter::NdDroppedInvalid,
        Counter::VrrpPassed,
        Counter::VrrpBadTtl,
        Counter::VrrpBadVersion,
        Counter::VrrpBadType,
        Counter::VrrpBadLength,
        Counter::VrrpBadChecksum,
        Counter::VrrpUnknownVrid,
        Counter::VmacMasterPassed,
        Counter::VmacDroppedBackup,
        Counter::VrrpDroppedFragment,
        Counter::NdPassDad,
        Counter::NdPassNoRoom,
        Counter::VrrpAbsorbed,
    ];

    /// A stable snake_case name for metrics and status output.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::PassOther => "pass_other",
            Counter::PassVlan => "pass_vlan",
            Counter::DropTruncated => "drop_truncated",
            Counter::ArpReplied => "arp_replied",
            Counter::ArpDroppedBackup => "arp_dropped_backup",
            Counter::ArpDroppedStale => "arp_dropped_stale",
            Counter::ArpPassNotVip => "arp_pass_not_vip",
            Counter::ArpPassNotRequest => "arp_pass_not_request",
            Counter::ArpPassOtherFormat => "arp_pass_other_format",
            Counter::NdReplied => "nd_replied",
            Counter::NdDroppedBackup => "nd_dropped_backup",
            Counter::NdDroppedStale => "nd_dropped_stale",
            Counter::NdPassNotVip => "nd_pass_not_vip",
            Counter::NdDroppedInvalid => "nd_dropped_invalid",
            Counter::VrrpPassed => "vrrp_passed",
            Counter::VrrpBadTtl => "vrrp_bad_ttl",
            Counter::VrrpBadVersion => "vrrp_bad_version",
            Counter::VrrpBadType => "vrrp_bad_type",
            Counter::VrrpBadLength => "vrrp_bad_length",
            Counter::VrrpBadChecksum => "vrrp_bad_checksum",
            Counter::VrrpUnknownVrid => "vrrp_unknown_vrid",
            Counter::VmacMasterPassed => "vmac_master_passed",
            Counter::VmacDroppedBackup => "vmac_dropped_backup",
            Counter::VrrpDroppedFragment => "vrrp_dropped_fragment",
            Counter::NdPassDad => "nd_pass_dad",
            Counter::NdPassNoRoom => "nd_pass_no_room",
            Counter::VrrpAbsorbed => "vrrp_absorbed",
            Counter::Count => "count",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_slot_in_order_with_distinct_names() {
        for (i, c) in Counter::ALL.iter().enumerate() {
            assert_eq!(*c as usize, i);
            for d in &Counter::ALL[i + 1..] {
                assert_ne!(c.name(), d.name());
            }
        }
    }
}
