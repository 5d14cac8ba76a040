//! Test helpers shared by the integration tests: fixture loading and just enough IP parsing to
//! find a captured advert's source, destination and VRRP payload.
#![allow(
    dead_code,
    reason = "each test binary uses a different subset of the helpers"
)]

use vrrp_common::checksum::{Checksum, pseudo_header_v4};
use vrrp_common::packet::Endpoints;
use vrrp_common::proto::IPPROTO_VRRP;

/// 10.99.0.11 -> 224.0.0.18, the endpoints of the keepalived captures.
pub const KEEPALIVED_V4: Endpoints = Endpoints::V4 {
    src: [10, 99, 0, 11],
    dst: [224, 0, 0, 18],
};

/// The bytes of a fixture in `vrrp-common/fixtures/` (hex, `#` comments, any whitespace).
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let digits: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_whitespace())
        .collect();
    assert_eq!(digits.len() % 2, 0, "{path}: odd number of hex digits");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// What the test reads from a captured IP header.
pub struct IpView<'a> {
    pub endpoints: Endpoints,
    /// TTL or hop limit.
    pub ttl: u8,
    /// TOS or traffic class.
    pub tos: u8,
    /// The IP payload, as long as the header says.
    pub payload: &'a [u8],
}

/// Splits a captured IPv4 or IPv6 packet carrying VRRP (protocol / next header 112).
pub fn split_ip(frame: &[u8]) -> IpView<'_> {
    match frame[0] >> 4 {
        4 => {
            let ihl = usize::from(frame[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([frame[2], frame[3]]));
            assert_eq!(total, frame.len(), "IPv4 total length");
            assert_eq!(frame[9], IPPROTO_VRRP, "IPv4 protocol");
            IpView {
                endpoints: Endpoints::V4 {
                    src: frame[12..16].try_into().unwrap(),
                    dst: frame[16..20].try_into().unwrap(),
                },
                ttl: frame[8],
                tos: frame[1],
                payload: &frame[ihl..total],
            }
        }
        6 => {
            let plen = usize::from(u16::from_be_bytes([frame[4], frame[5]]));
            assert_eq!(40 + plen, frame.len(), "IPv6 payload length");
            assert_eq!(frame[6], IPPROTO_VRRP, "IPv6 next header");
            let tc = ((frame[0] & 0x0f) << 4) | (frame[1] >> 4);
            IpView {
                endpoints: Endpoints::V6 {
                    src: frame[8..24].try_into().unwrap(),
                    dst: frame[24..40].try_into().unwrap(),
                },
                ttl: frame[7],
                tos: tc,
                payload: &frame[40..40 + plen],
            }
        }
        v => panic!("IP version {v}"),
    }
}

/// Rewrites the Checksum field of a hand-made VRRP message so that it verifies: over the message
/// only (v2, or v3 V2Style) or with the IPv4 pseudo-header of `pseudo` (v3 RFC style).
pub fn fix_checksum(msg: &mut [u8], pseudo: Option<([u8; 4], [u8; 4])>) {
    msg[6] = 0;
    msg[7] = 0;
    let mut sum = match pseudo {
        Some((src, dst)) => pseudo_header_v4(&src, &dst, IPPROTO_VRRP, msg.len() as u16),
        None => Checksum::new(),
    };
    sum.add_bytes(msg);
    let c = sum.finish();
    msg[6..8].copy_from_slice(&c.to_be_bytes());
}
