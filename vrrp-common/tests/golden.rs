//! Golden tests: adverts captured from keepalived 2.2.7 and FRR 8.4.4 decode to the fields they
//! were sent with and re-encode byte-exact, checksum included (RFC 3768 §5, RFC 5798 §5).

mod support;

use support::{KEEPALIVED_V4, fixture, split_ip};
use vrrp_common::packet::{
    Addr, Addrs, Advert, AdvertFields, Auth, ChecksumMode, ChecksumStyle, DecodeCtx, DecodeError,
    EncodeCtx, Endpoints, VersionFields, decode, encode,
};

const VIP: [u8; 4] = [10, 99, 0, 100];

/// Decodes `msg` (RFC checksum only), checks the fields, then re-encodes and compares bytes.
fn decode_check_reencode(
    msg: &[u8],
    endpoints: Endpoints,
    fields: AdvertFields,
    addrs: &[Addr],
    checksum: u16,
) {
    let ctx = DecodeCtx {
        endpoints,
        checksum: ChecksumMode::Rfc,
    };
    let advert: Advert<'_> = decode(msg, ctx).expect("golden frame decodes");
    assert_eq!(advert.fields, fields);
    assert_eq!(advert.addrs.iter().collect::<Vec<_>>(), addrs);
    assert_eq!(usize::from(advert.count()), addrs.len());
    assert_eq!(advert.checksum, checksum);
    assert_eq!(advert.checksum_style, ChecksumStyle::Rfc);

    let mut out = [0xaau8; 64];
    let len = encode(
        &advert.fields,
        advert.addrs,
        EncodeCtx {
            endpoints,
            checksum: ChecksumStyle::Rfc,
        },
        &mut out,
    )
    .expect("golden frame re-encodes");
    assert_eq!(&out[..len], msg, "re-encoding is byte-exact");
    assert!(
        out[len..].iter().all(|&b| b == 0xaa),
        "nothing written past the message"
    );
}

/// Checks the IP header wire facts of a capture (RFC 5798 §5.1.1.3, §5.1.2.3: TTL 255) and
/// returns its endpoints and VRRP message.
fn captured(name: &str) -> (Endpoints, Vec<u8>) {
    let frame = fixture(name);
    let ip = split_ip(&frame);
    assert_eq!(ip.ttl, 255, "TTL / hop limit 255");
    assert_eq!(ip.tos, 0xc0, "TOS / traffic class 0xc0");
    (ip.endpoints, ip.payload.to_vec())
}

#[test]
fn keepalived_v2_advert_decodes_and_reencodes_byte_exact() {
    let (endpoints, msg) = captured("v2_keepalived.ip.hex");
    assert_eq!(endpoints, KEEPALIVED_V4);
    assert_eq!(
        msg.len(),
        20,
        "8 header + 4 address + 8 auth data (RFC 3768 §5.1)"
    );
    let fields = AdvertFields {
        vrid: 51,
        priority: 150,
        version: VersionFields::V2 {
            auth: Auth::None,
            adver_int_s: 1,
        },
    };
    decode_check_reencode(&msg, endpoints, fields, &[Addr::V4(VIP)], 0x3e03);
}

#[test]
fn keepalived_v2_priority_zero_advert_decodes_and_reencodes_byte_exact() {
    // RFC 3768 §6.4.3: a master that stops sends priority 0.
    let msg = fixture("v2_priority0.vrrp.hex");
    let fields = AdvertFields {
        vrid: 51,
        priority: 0,
        version: VersionFields::V2 {
            auth: Auth::None,
            adver_int_s: 1,
        },
    };
    decode_check_reencode(&msg, KEEPALIVED_V4, fields, &[Addr::V4(VIP)], 0xd403);
}

#[test]
fn keepalived_v3_one_second_advert_decodes_and_reencodes_byte_exact() {
    let (endpoints, msg) = captured("v3_1s.ip.hex");
    assert_eq!(endpoints, KEEPALIVED_V4);
    let fields = AdvertFields {
        vrid: 51,
        priority: 150,
        version: VersionFields::V3 {
            max_adver_int_cs: 100,
        },
    };
    decode_check_reencode(&msg, endpoints, fields, &[Addr::V4(VIP)], 0x42a3);
}

#[test]
fn v3_hundred_millisecond_advert_carries_10_centiseconds() {
    let msg = fixture("v3_100ms.vrrp.hex");
    let fields = AdvertFields {
        vrid: 51,
        priority: 150,
        version: VersionFields::V3 {
            max_adver_int_cs: 10,
        },
    };
    decode_check_reencode(&msg, KEEPALIVED_V4, fields, &[Addr::V4(VIP)], 0x42fd);
}

#[test]
fn frr_v3_advert_with_df_set_decodes_and_reencodes_byte_exact() {
    let (endpoints, msg) = captured("v3_frr_df.ip.hex");
    assert_eq!(
        endpoints,
        Endpoints::V4 {
            src: [10, 99, 0, 13],
            dst: [224, 0, 0, 18]
        }
    );
    let fields = AdvertFields {
        vrid: 51,
        priority: 150,
        version: VersionFields::V3 {
            max_adver_int_cs: 100,
        },
    };
    // Same message as keepalived's but from .13: the pseudo-header makes the checksum 2 lower.
    decode_check_reencode(&msg, endpoints, fields, &[Addr::V4(VIP)], 0x42a1);
}

#[test]
fn keepalived_v3_ipv6_advert_with_two_addresses_decodes_and_reencodes_byte_exact() {
    let (endpoints, msg) = captured("v3_ipv6_keepalived.ip.hex");
    let mut src = [0u8; 16];
    src[..2].copy_from_slice(&[0xfe, 0x80]);
    src[10..].copy_from_slice(&[0x00, 0xff, 0xfe, 0x99, 0x00, 0x11]);
    assert_eq!(
        endpoints,
        Endpoints::V6 {
            src,
            dst: vrrp_common::proto::VRRP_GROUP_V6
        }
    );
    let mut vip1 = [0u8; 16];
    vip1[..2].copy_from_slice(&[0xfe, 0x80]);
    vip1[12..].copy_from_slice(&[0x00, 0x01, 0x00, 0x51]);
    let mut vip2 = [0u8; 16];
    vip2[..6].copy_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0x00, 0x99]);
    vip2[14..].copy_from_slice(&[0x01, 0x00]);
    let fields = AdvertFields {
        vrid: 51,
        priority: 150,
        version: VersionFields::V3 {
            max_adver_int_cs: 100,
        },
    };
    decode_check_reencode(
        &msg,
        endpoints,
        fields,
        &[Addr::V6(vip1), Addr::V6(vip2)],
        0x0c69,
    );
}

#[test]
fn captured_v3_checksums_include_the_pseudo_header() {
    // RFC 5798 §5.2.8: keepalived 2.2.7 and FRR 8.4.4 include the IPv4 pseudo-header, so the
    // message-only (v2-style) sum does not verify: it would be 0x2da0.
    let (endpoints, msg) = captured("v3_1s.ip.hex");
    let v2_style = DecodeCtx {
        endpoints,
        checksum: ChecksumMode::V2Style,
    };
    assert_eq!(
        decode(&msg, v2_style),
        Err(DecodeError::BadChecksum {
            expected: 0x2da0,
            found: 0x42a3
        })
    );
    let either = DecodeCtx {
        endpoints,
        checksum: ChecksumMode::AcceptEither,
    };
    assert_eq!(
        decode(&msg, either).map(|a| a.checksum_style),
        Ok(ChecksumStyle::Rfc)
    );
}

#[test]
fn v2_style_v3_checksum_is_accepted_when_configured_and_reencodes_byte_exact() {
    // keepalived's `v3_checksum_as_v2`: the v3 checksum over the message only.
    let (endpoints, mut msg) = captured("v3_1s.ip.hex");
    msg[6..8].copy_from_slice(&0x2da0u16.to_be_bytes());
    for mode in [ChecksumMode::V2Style, ChecksumMode::AcceptEither] {
        let advert = decode(
            &msg,
            DecodeCtx {
                endpoints,
                checksum: mode,
            },
        )
        .expect("v2-style checksum accepted");
        assert_eq!(advert.checksum_style, ChecksumStyle::V2Style);
        assert_eq!(advert.checksum, 0x2da0);
    }
    assert_eq!(
        decode(
            &msg,
            DecodeCtx {
                endpoints,
                checksum: ChecksumMode::Rfc
            }
        ),
        Err(DecodeError::BadChecksum {
            expected: 0x42a3,
            found: 0x2da0
        })
    );
    let mut out = [0u8; 12];
    let fields = AdvertFields {
        vrid: 51,
        priority: 150,
        version: VersionFields::V3 {
            max_adver_int_cs: 100,
        },
    };
    let len = encode(
        &fields,
        Addrs::V4(&[VIP]),
        EncodeCtx {
            endpoints,
            checksum: ChecksumStyle::V2Style,
        },
        &mut out,
    );
    assert_eq!(len, Ok(12));
    assert_eq!(&out[..], &msg[..]);
}
