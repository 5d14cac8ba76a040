//! Golden VRRP adverts captured from real peers (keepalived 2.2.7, FRR 8.4.4) on this kind of
//! machine, IP header onward, as hex. VRID 51, priority 150, VIP 10.99.0.100. These bytes are only
//! fed to BPF_PROG_TEST_RUN; nothing is ever sent to their addresses.

/// v2, keepalived, source 10.99.0.11 to 224.0.0.18.
pub const V2_KEEPALIVED: &str = "45c0 0028 0001 0000 ff70 d024 0a63 000b e000 0012 2133 9601 0001 3e03 0a63 0064 0000 0000 0000 0000";
/// v3 (1 s), keepalived, source 10.99.0.11.
pub const V3_KEEPALIVED: &str =
    "45c0 0020 0001 0000 ff70 d02c 0a63 000b e000 0012 3133 9601 0064 42a3 0a63 0064";
/// v3 from FRR, source 10.99.0.13, DF set.
pub const V3_FRR: &str =
    "45c0 0020 0459 4000 ff70 8bd2 0a63 000d e000 0012 3133 9601 0064 42a1 0a63 0064";
/// v3 over IPv6, keepalived, source fe80::ff:fe99:11, VIPs fe80::1:51 and 2001:db8:99::100.
pub const V3_IPV6_KEEPALIVED: &str = "6c08 1f98 0028 70ff fe80 0000 0000 0000 0000 00ff fe99 0011 \
     ff02 0000 0000 0000 0000 0000 0000 0012 3133 9602 0064 0c69 fe80 0000 0000 0000 0000 0000 \
     0001 0051 2001 0db8 0099 0000 0000 0000 0000 0100";
