//! Byte-by-byte frame builders for the data-plane tests, with their own one's-complement checksum
//! (RFC 1071) so expected frames never come from the code under test.

/// Ethertypes.
pub const ETH_IP: u16 = 0x0800;
pub const ETH_ARP: u16 = 0x0806;
pub const ETH_IPV6: u16 = 0x86dd;
/// Broadcast MAC.
pub const BROADCAST: [u8; 6] = [0xff; 6];

/// Parses `aa:bb:cc:dd:ee:ff`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in mac.iter_mut() {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Plain RFC 1071 checksum over `data` (odd length padded with a zero byte), with `initial`
/// already-summed words (e.g. a pseudo-header).
pub fn checksum(initial: u32, data: &[u8]) -> u16 {
    let mut sum: u64 = u64::from(initial);
    let mut i = 0;
    while i < data.len() {
        let hi = u64::from(data[i]) << 8;
        let lo = if i + 1 < data.len() {
            u64::from(data[i + 1])
        } else {
            0
        };
        sum += hi | lo;
        i += 2;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Word sum of a byte string (even length).
pub fn word_sum(data: &[u8]) -> u32 {
    data.chunks(2)
        .map(|c| (u32::from(c[0]) << 8) | u32::from(*c.get(1).unwrap_or(&0)))
        .sum()
}

/// IPv4 pseudo-header sum (RFC 768 layout): src, dst, zero, protocol, length.
pub fn pseudo4(src: [u8; 4], dst: [u8; 4], proto: u8, len: usize) -> u32 {
    word_sum(&src) + word_sum(&dst) + u32::from(proto) + len as u32
}

/// IPv6 pseudo-header sum (RFC 8200 §8.1): src, dst, 32-bit length, next header.
pub fn pseudo6(src: [u8; 16], dst: [u8; 16], nh: u8, len: usize) -> u32 {
    word_sum(&src) + word_sum(&dst) + (len as u32 >> 16) + (len as u32 & 0xffff) + u32::from(nh)
}

/// Ethernet II frame.
pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// Ethernet/IPv4 ARP packet (RFC 826), 28 bytes.
pub fn arp(op: u16, sha: [u8; 6], spa: [u8; 4], tha: [u8; 6], tpa: [u8; 4]) -> Vec<u8> {
    arp_raw(1, 0x0800, 6, 4, op, sha, spa, tha, tpa)
}

/// ARP packet with every format field given.
#[expect(clippy::too_many_arguments, reason = "one argument per ARP field")]
pub fn arp_raw(
    hrd: u16,
    pro: u16,
    hln: u8,
    pln: u8,
    op: u16,
    sha: [u8; 6],
    spa: [u8; 4],
    tha: [u8; 6],
    tpa: [u8; 4],
) -> Vec<u8> {
    let mut a = Vec::with_capacity(28);
    a.extend_from_slice(&hrd.to_be_bytes());
    a.extend_from_slice(&pro.to_be_bytes());
    a.push(hln);
    a.push(pln);
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&sha);
    a.extend_from_slice(&spa);
    a.extend_from_slice(&tha);
    a.extend_from_slice(&tpa);
    a
}

/// IPv4 header (with `options`, a multiple of 4 bytes) + payload, header checksum filled in.
pub fn ipv4(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    ttl: u8,
    frag: u16,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let hlen = 20 + options.len();
    let total = hlen + payload.len();
    let mut h = vec![0x40 | (hlen / 4) as u8, 0xc0];
    h.extend_from_slice(&(total as u16).to_be_bytes());
    h.extend_from_slice(&[0, 1]);
    h.extend_from_slice(&frag.to_be_bytes());
    h.push(ttl);
    h.push(proto);
    h.extend_from_slice(&[0, 0]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(options);
    let c = checksum(0, &h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

/// IPv6 header + payload (`nh` = first next header, `payload` = extension headers + upper layer).
pub fn ipv6(src: [u8; 16], dst: [u8; 16], nh: u8, hop: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0x60, 0, 0, 0];
    h.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    h.push(nh);
    h.push(hop);
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    h.extend_from_slice(payload);
    h
}

/// An 8-byte extension header (Hop-by-Hop / Destination Options with PadN, or Fragment).
pub fn ext8(kind: u8, nh: u8) -> Vec<u8> {
    match kind {
        44 => vec![nh, 0, 0, 0, 0, 0, 0, 1],
        _ => vec![nh, 0, 1, 4, 0, 0, 0, 0],
    }
}

/// ICMPv6 message with its checksum (RFC 4443 §2.3) filled in at bytes 2..4.
pub fn icmpv6(src: [u8; 16], dst: [u8; 16], mut msg: Vec<u8>) -> Vec<u8> {
    msg[2] = 0;
    msg[3] = 0;
    let c = checksum(pseudo6(src, dst, 58, msg.len()), &msg);
    msg[2..4].copy_from_slice(&c.to_be_bytes());
    msg
}

/// Neighbor Solicitation body (RFC 4861 §4.3), checksum zero; `slla` adds the source
/// link-layer address option.
pub fn ns_body(target: [u8; 16], slla: Option<[u8; 6]>) -> Vec<u8> {
    let mut m = vec![135, 0, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&target);
    if let Some(mac) = slla {
        m.extend_from_slice(&[1, 1]);
        m.extend_from_slice(&mac);
    }
    m
}

/// Solicited-node multicast address of `target` (RFC 4291 §2.7.1).
pub fn solicited_node(target: [u8; 16]) -> [u8; 16] {
    let mut a = [0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0, 0, 0];
    a[13..16].copy_from_slice(&target[13..16]);
    a
}

/// Multicast MAC of an IPv6 multicast address (RFC 2464 §7).
pub fn ipv6_mcast_mac(a: [u8; 16]) -> [u8; 6] {
    [0x33, 0x33, a[12], a[13], a[14], a[15]]
}

/// The full NA frame the Master must send (RFC 4861 §4.4, §7.2.4), built independently.
pub fn expected_na(requester: [u8; 6], vmac: [u8; 6], vip: [u8; 16], to: [u8; 16]) -> Vec<u8> {
    let mut m = vec![136, 0, 0, 0, 0x60, 0, 0, 0];
    m.extend_from_slice(&vip);
    m.extend_from_slice(&[2, 1]);
    m.extend_from_slice(&vmac);
    let m = icmpv6(vip, to, m);
    eth(requester, vmac, ETH_IPV6, &ipv6(vip, to, 58, 255, &m))
}

/// A VRRP advertisement (RFC 5798 §5.2 / RFC 3768 §5.3) with its checksum: v2 over the message,
/// v3 with the pseudo-header `pseudo` (already summed; pass 0 for v2).
pub fn vrrp(
    version: u8,
    vrid: u8,
    prio: u8,
    addrs: &[&[u8]],
    interval: u16,
    pseudo: u32,
) -> Vec<u8> {
    let mut m = vec![(version << 4) | 1, vrid, prio, addrs.len() as u8];
    if version == 2 {
        m.extend_from_slice(&[0, interval as u8]);
    } else {
        m.extend_from_slice(&(interval & 0x0fff).to_be_bytes());
    }
    m.extend_from_slice(&[0, 0]);
    for a in addrs {
        m.extend_from_slice(a);
    }
    if version == 2 {
        m.extend_from_slice(&[0; 8]);
    }
    let c = checksum(if version == 2 { 0 } else { pseudo }, &m);
    m[6..8].copy_from_slice(&c.to_be_bytes());
    m
}

/// Parses a hex string with arbitrary whitespace.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    digits
        .chunks(2)
        .map(|c| {
            let h = |d: u8| (d as char).to_digit(16).unwrap_or(0) as u8;
            (h(c[0]) << 4) | h(*c.get(1).unwrap_or(&b'0'))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_matches_rfc1071_example() {
        // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2 (checksum 220d).
        assert_eq!(
            checksum(0, &[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]),
            0x220d
        );
    }

    #[test]
    fn ipv4_header_checksum_matches_golden_advert() {
        let golden = hex(crate::fixtures::V2_KEEPALIVED);
        let mut h = golden[..20].to_vec();
        h[10] = 0;
        h[11] = 0;
        assert_eq!(checksum(0, &h).to_be_bytes(), [golden[10], golden[11]]);
    }
}
