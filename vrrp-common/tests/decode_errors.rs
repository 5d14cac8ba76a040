//! Every way `decode` refuses a message, and `encode`'s refusals: one test per rule, each citing
//! the RFC clause it enforces (RFC 5798 §5.2, §7.1; RFC 3768 §5.3, §7.1).

mod support;

use support::{KEEPALIVED_V4, fix_checksum};
use vrrp_common::packet::{
    Addrs, AdvertFields, Auth, ChecksumMode, ChecksumStyle, DecodeCtx, DecodeError, EncodeCtx,
    EncodeError, Endpoints, MAX_ADVER_INT_CS, VersionFields, decode, encode,
};

const SRC: [u8; 4] = [10, 99, 0, 11];
const GROUP: [u8; 4] = [224, 0, 0, 18];
const RFC: DecodeCtx = DecodeCtx {
    endpoints: KEEPALIVED_V4,
    checksum: ChecksumMode::Rfc,
};
const V6_ENDPOINTS: Endpoints = Endpoints::V6 {
    src: [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    dst: vrrp_common::proto::VRRP_GROUP_V6,
};

/// The captured keepalived v3 advert (VRID 51, priority 150, 100 cs, 10.99.0.100).
fn v3() -> Vec<u8> {
    vec![
        0x31, 0x33, 0x96, 0x01, 0x00, 0x64, 0x42, 0xa3, 0x0a, 0x63, 0x00, 0x64,
    ]
}

/// The captured keepalived v2 advert (VRID 51, priority 150, 1 s, auth none, 10.99.0.100).
fn v2() -> Vec<u8> {
    let mut m = vec![
        0x21, 0x33, 0x96, 0x01, 0x00, 0x01, 0x3e, 0x03, 0x0a, 0x63, 0x00, 0x64,
    ];
    m.extend_from_slice(&[0; 8]);
    m
}

/// `msg` edited by `edit`, with its v3 (pseudo-header) checksum made valid again.
fn v3_with(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut m = v3();
    edit(&mut m);
    fix_checksum(&mut m, Some((SRC, GROUP)));
    m
}

/// `msg` edited by `edit`, with its v2 (message-only) checksum made valid again.
fn v2_with(edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut m = v2();
    edit(&mut m);
    fix_checksum(&mut m, None);
    m
}

#[test]
fn message_shorter_than_the_fixed_header_is_truncated() {
    assert_eq!(decode(&[], RFC), Err(DecodeError::Truncated { len: 0 }));
    assert_eq!(
        decode(&v3()[..7], RFC),
        Err(DecodeError::Truncated { len: 7 })
    );
}

#[test]
fn version_other_than_2_or_3_is_refused() {
    // RFC 5798 §7.1: "MUST verify that the VRRP version ..."; §5.2.1 version 3, RFC 3768 §5.3.1 2.
    for (byte, version) in [(0x11, 1), (0x41, 4), (0x01, 0), (0xf1, 15)] {
        let m = v3_with(|m| m[0] = byte);
        assert_eq!(decode(&m, RFC), Err(DecodeError::BadVersion { version }));
    }
}

#[test]
fn v2_advert_over_ipv6_is_refused() {
    // RFC 3768 defines VRRP for IPv4 only; IPv6 arrived with version 3 (RFC 5798 §1).
    let ctx = DecodeCtx {
        endpoints: V6_ENDPOINTS,
        checksum: ChecksumMode::Rfc,
    };
    assert_eq!(decode(&v2(), ctx), Err(DecodeError::V2OverIpv6));
}

#[test]
fn type_other_than_advertisement_is_refused() {
    // RFC 5798 §5.2.2, RFC 3768 §5.3.2: "Packets with unknown type MUST be discarded."
    for kind in [0u8, 2, 15] {
        let m = v3_with(|m| m[0] = 0x30 | kind);
        assert_eq!(decode(&m, RFC), Err(DecodeError::BadType { kind }));
    }
}

#[test]
fn message_shorter_than_its_address_count_is_incomplete() {
    // RFC 5798 §7.1: "MUST verify that the received packet contains the complete VRRP packet
    // (including fixed fields, and IPvX address(es))".
    let m = v3_with(|m| m[3] = 2);
    assert_eq!(
        decode(&m, RFC),
        Err(DecodeError::ShortForCount {
            count: 2,
            expected: 16,
            actual: 12
        })
    );
    // v2 without its 8 bytes of Authentication Data (RFC 3768 §5.1).
    let m = v2_with(|m| m.truncate(12));
    assert_eq!(
        decode(&m, RFC),
        Err(DecodeError::ShortForCount {
            count: 1,
            expected: 20,
            actual: 12
        })
    );
}

#[test]
fn message_longer_than_its_address_count_is_refused() {
    // The message is the whole IP payload; keepalived refuses "vrrp packet too long" likewise.
    let m = v3_with(|m| m.extend_from_slice(&[0, 0, 0, 0]));
    assert_eq!(
        decode(&m, RFC),
        Err(DecodeError::TrailingBytes {
            expected: 12,
            actual: 16
        })
    );
    let m = v2_with(|m| m.push(0));
    assert_eq!(
        decode(&m, RFC),
        Err(DecodeError::TrailingBytes {
            expected: 20,
            actual: 21
        })
    );
}

#[test]
fn wrong_checksum_is_refused_with_expected_and_found() {
    // RFC 5798 §7.1 / RFC 3768 §7.1: "MUST verify the VRRP checksum".
    let mut m = v3();
    m[7] ^= 0x01;
    assert_eq!(
        decode(&m, RFC),
        Err(DecodeError::BadChecksum {
            expected: 0x42a3,
            found: 0x42a2
        })
    );
    let mut m = v2();
    m[6] = 0;
    assert_eq!(
        decode(&m, RFC),
        Err(DecodeError::BadChecksum {
            expected: 0x3e03,
            found: 0x0003
        })
    );
}

#[test]
fn v3_checksum_from_another_source_address_is_refused() {
    // RFC 5798 §5.2.8: the pseudo-header covers the source: FRR's advert from .13 is not valid
    // as if sent from .11.
    let mut m = v3();
    m[6..8].copy_from_slice(&0x42a1u16.to_be_bytes());
    assert_eq!(
        decode(&m, RFC),
        Err(DecodeError::BadChecksum {
            expected: 0x42a3,
            found: 0x42a1
        })
    );
}

#[test]
fn checksum_is_verified_before_the_fields() {
    // A corrupted packet counts as a checksum error, not as whatever its fields now say.
    let mut m = v3();
    m[1] = 0;
    assert!(matches!(
        decode(&m, RFC),
        Err(DecodeError::BadChecksum { found: 0x42a3, .. })
    ));
}

#[test]
fn checksum_of_all_ones_is_the_same_zero_as_all_zeros() {
    // One's complement has two zeros (RFC 1071 §1): find the last address word that gives a v3
    // advert the checksum 0x0000, then send it as 0xffff; the sum still verifies.
    let base = v3();
    let word = (0u16..=u16::MAX)
        .find(|&w| {
            let mut m = base.clone();
            m[10..12].copy_from_slice(&w.to_be_bytes());
            fix_checksum(&mut m, Some((SRC, GROUP)));
            m[6..8] == [0, 0]
        })
        .expect("one address word gives checksum 0");
    let mut m = base;
    m[10..12].copy_from_slice(&word.to_be_bytes());
    m[6] = 0xff;
    m[7] = 0xff;
    let advert = decode(&m, RFC).expect("0xffff stands for 0x0000");
    assert_eq!(advert.checksum, 0xffff);
    let [a, b] = word.to_be_bytes();
    assert_eq!(advert.addrs, Addrs::V4(&[[10, 99, a, b]]));
}

#[test]
fn vrid_zero_is_refused() {
    // RFC 5798 §5.2.3, RFC 3768 §5.3.3: VRID range 1-255.
    let m = v3_with(|m| m[1] = 0);
    assert_eq!(decode(&m, RFC), Err(DecodeError::VridZero));
}

#[test]
fn v3_advert_without_address_is_refused() {
    // RFC 5798 §5.2.5: Count IPvX Addr "minimum value is 1".
    let m = v3_with(|m| {
        m[3] = 0;
        m.truncate(8);
    });
    assert_eq!(decode(&m, RFC), Err(DecodeError::NoAddresses));
}

#[test]
fn v2_advert_without_address_is_accepted() {
    // RFC 3768 §5.3.5 sets no minimum count.
    let m = v2_with(|m| {
        m[3] = 0;
        m.drain(8..12);
    });
    let advert = decode(&m, RFC).expect("v2 with count 0 decodes");
    assert_eq!(advert.count(), 0);
    assert_eq!(advert.addrs, Addrs::V4(&[]));
}

#[test]
fn interval_zero_is_refused_in_both_versions() {
    // RFC 5798 §5.2.7 / §6.1: Master_Down_Interval would be Skew_Time alone; RFC 3768 §7.1: a
    // v2 interval differing from the configured one (never 0) is discarded.
    let m = v3_with(|m| {
        m[4] = 0;
        m[5] = 0;
    });
    assert_eq!(decode(&m, RFC), Err(DecodeError::IntervalZero));
    // Only reserved bits set: the interval is still 0 (RFC 5798 §5.2.6: ignored on receive).
    let m = v3_with(|m| {
        m[4] = 0xf0;
        m[5] = 0;
    });
    assert_eq!(decode(&m, RFC), Err(DecodeError::IntervalZero));
    let m = v2_with(|m| m[5] = 0);
    assert_eq!(decode(&m, RFC), Err(DecodeError::IntervalZero));
}

#[test]
fn v3_reserved_bits_are_ignored_on_receive_and_sent_as_zero() {
    // RFC 5798 §5.2.6: "MUST be set to zero on transmission and ignored on reception".
    let m = v3_with(|m| m[4] = 0xf0);
    let advert = decode(&m, RFC).expect("reserved bits ignored");
    assert_eq!(
        advert.fields.version,
        VersionFields::V3 {
            max_adver_int_cs: 100
        }
    );
    let mut out = [0u8; 12];
    let ctx = EncodeCtx {
        endpoints: KEEPALIVED_V4,
        checksum: ChecksumStyle::Rfc,
    };
    assert_eq!(encode(&advert.fields, advert.addrs, ctx, &mut out), Ok(12));
    assert_eq!(out.to_vec(), v3());
}

#[test]
fn v2_ah_authentication_is_refused() {
    // RFC 3768 §5.3.6: the IP Authentication Header type of RFC 2338 was removed.
    let m = v2_with(|m| m[4] = 2);
    assert_eq!(decode(&m, RFC), Err(DecodeError::AuthAh));
}

#[test]
fn v2_unknown_auth_type_is_refused() {
    // RFC 3768 §5.3.6: "A packet with unknown authentication type ... MUST be discarded."
    for auth_type in [3u8, 255] {
        let m = v2_with(|m| m[4] = auth_type);
        assert_eq!(
            decode(&m, RFC),
            Err(DecodeError::UnknownAuthType { auth_type })
        );
    }
}

#[test]
fn v2_simple_text_password_is_returned() {
    // RFC 2338 §5.3.6.1 (keepalived `auth_type PASS`): the 8 bytes after the addresses.
    let m = v2_with(|m| {
        m[4] = 1;
        m[12..20].copy_from_slice(b"secret\0\0");
    });
    let advert = decode(&m, RFC).expect("simple text decodes");
    assert_eq!(
        advert.fields.version,
        VersionFields::V2 {
            auth: Auth::SimpleText(*b"secret\0\0"),
            adver_int_s: 1
        }
    );
}

#[test]
fn v2_auth_data_is_ignored_without_authentication() {
    // RFC 3768 §5.3.10: "SHOULD be set to zero on transmission and ignored on reception".
    let m = v2_with(|m| m[12..20].copy_from_slice(b"leftover"));
    let advert = decode(&m, RFC).expect("auth data ignored");
    assert_eq!(
        advert.fields.version,
        VersionFields::V2 {
            auth: Auth::None,
            adver_int_s: 1
        }
    );
}

#[test]
fn error_names_are_stable_metric_labels() {
    let cases = [
        (DecodeError::Truncated { len: 0 }, "truncated"),
        (DecodeError::BadVersion { version: 1 }, "bad_version"),
        (DecodeError::V2OverIpv6, "v2_over_ipv6"),
        (DecodeError::BadType { kind: 2 }, "bad_type"),
        (
            DecodeError::ShortForCount {
                count: 1,
                expected: 12,
                actual: 8,
            },
            "short_for_count",
        ),
        (
            DecodeError::TrailingBytes {
                expected: 12,
                actual: 13,
            },
            "trailing_bytes",
        ),
        (
            DecodeError::BadChecksum {
                expected: 1,
                found: 2,
            },
            "bad_checksum",
        ),
        (DecodeError::VridZero, "vrid_zero"),
        (DecodeError::NoAddresses, "no_addresses"),
        (DecodeError::IntervalZero, "interval_zero"),
        (DecodeError::AuthAh, "auth_ah"),
        (
            DecodeError::UnknownAuthType { auth_type: 3 },
            "unknown_auth_type",
        ),
    ];
    assert_eq!(cases.len(), DecodeError::NAMES.len());
    for (i, (err, name)) in cases.iter().enumerate() {
        assert_eq!(err.name(), *name);
        assert_eq!(DecodeError::NAMES[i], *name);
    }
    assert_eq!(
        DecodeError::BadChecksum {
            expected: 0x42a3,
            found: 0x42a2
        }
        .to_string(),
        "checksum 0x42a2, expected 0x42a3"
    );
}

fn v3_fields(cs: u16) -> AdvertFields {
    AdvertFields {
        vrid: 51,
        priority: 150,
        version: VersionFields::V3 {
            max_adver_int_cs: cs,
        },
    }
}

const ENC: EncodeCtx = EncodeCtx {
    endpoints: KEEPALIVED_V4,
    checksum: ChecksumStyle::Rfc,
};

#[test]
fn encode_refuses_what_decode_would_refuse_and_leaves_the_buffer_untouched() {
    let vip = [[10, 99, 0, 100]];
    let mut out = [0x55u8; 32];
    let cases: [(AdvertFields, Addrs<'_>, EncodeCtx, EncodeError); 6] = [
        (
            v3_fields(100),
            Addrs::V6(&[[0; 16]]),
            ENC,
            EncodeError::FamilyMismatch,
        ),
        (
            AdvertFields {
                vrid: 51,
                priority: 150,
                version: VersionFields::V2 {
                    auth: Auth::None,
                    adver_int_s: 1,
                },
            },
            Addrs::V6(&[[0; 16]]),
            EncodeCtx {
                endpoints: V6_ENDPOINTS,
                checksum: ChecksumStyle::Rfc,
            },
            EncodeError::V2OverIpv6,
        ),
        (
            AdvertFields {
                vrid: 0,
                ..v3_fields(100)
            },
            Addrs::V4(&vip),
            ENC,
            EncodeError::VridZero,
        ),
        (
            v3_fields(100),
            Addrs::V4(&[]),
            ENC,
            EncodeError::NoAddresses,
        ),
        (
            v3_fields(0),
            Addrs::V4(&vip),
            ENC,
            EncodeError::IntervalZero,
        ),
        (
            v3_fields(MAX_ADVER_INT_CS + 1),
            Addrs::V4(&vip),
            ENC,
            EncodeError::IntervalTooLarge { centis: 4096 },
        ),
    ];
    for (fields, addrs, ctx, err) in cases {
        assert_eq!(encode(&fields, addrs, ctx, &mut out), Err(err));
        assert_eq!(out, [0x55u8; 32]);
    }
    let v2_zero = AdvertFields {
        vrid: 51,
        priority: 150,
        version: VersionFields::V2 {
            auth: Auth::None,
            adver_int_s: 0,
        },
    };
    assert_eq!(
        encode(&v2_zero, Addrs::V4(&vip), ENC, &mut out),
        Err(EncodeError::IntervalZero)
    );
}

#[test]
fn encode_refuses_more_than_255_addresses() {
    // RFC 5798 §5.2.5: Count is an 8-bit field.
    let many = [[10, 99, 0, 1]; 256];
    let mut out = [0u8; 2048];
    assert_eq!(
        encode(&v3_fields(100), Addrs::V4(&many), ENC, &mut out),
        Err(EncodeError::TooManyAddresses { count: 256 })
    );
    assert_eq!(
        encode(&v3_fields(100), Addrs::V4(&many[..255]), ENC, &mut out),
        Ok(8 + 255 * 4)
    );
}

#[test]
fn encode_into_a_short_buffer_says_how_much_it_needs() {
    let mut out = [0x55u8; 11];
    assert_eq!(
        encode(
            &v3_fields(100),
            Addrs::V4(&[[10, 99, 0, 100]]),
            ENC,
            &mut out
        ),
        Err(EncodeError::BufferTooSmall {
            needed: 12,
            available: 11
        })
    );
    assert_eq!(out, [0x55u8; 11]);
}
