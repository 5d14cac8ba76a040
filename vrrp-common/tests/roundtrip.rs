//! Property tests of the codec: any valid advert survives encode then decode unchanged, any byte
//! string decodes without panicking, and every single-bit corruption of a valid advert is refused
//! (the RFC 1071 sum detects all single-bit errors).

use proptest::prelude::*;
use vrrp_common::checksum::{Checksum, pseudo_header_v4, pseudo_header_v6};
use vrrp_common::packet::{
    Addrs, AdvertFields, Auth, ChecksumMode, ChecksumStyle, DecodeCtx, EncodeCtx, Endpoints,
    MAX_ADVER_INT_CS, MAX_MESSAGE_LEN, VersionFields, decode, encode, max_len,
};

/// A valid advert: fields, the addresses (as owned arrays of the family), endpoints, style.
#[derive(Clone, Debug)]
struct Case {
    fields: AdvertFields,
    v4: Vec<[u8; 4]>,
    v6: Vec<[u8; 16]>,
    ctx: EncodeCtx,
}

impl Case {
    fn addrs(&self) -> Addrs<'_> {
        match self.ctx.endpoints {
            Endpoints::V4 { .. } => Addrs::V4(&self.v4),
            Endpoints::V6 { .. } => Addrs::V6(&self.v6),
        }
    }
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::SimpleText)
    ]
}

fn style() -> impl Strategy<Value = ChecksumStyle> {
    prop_oneof![Just(ChecksumStyle::Rfc), Just(ChecksumStyle::V2Style)]
}

fn mode() -> impl Strategy<Value = ChecksumMode> {
    prop_oneof![
        Just(ChecksumMode::Rfc),
        Just(ChecksumMode::V2Style),
        Just(ChecksumMode::AcceptEither)
    ]
}

fn endpoints() -> impl Strategy<Value = Endpoints> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>()).prop_map(|(src, dst)| Endpoints::V4 { src, dst }),
        (any::<[u8; 16]>(), any::<[u8; 16]>()).prop_map(|(src, dst)| Endpoints::V6 { src, dst }),
    ]
}

fn valid_case() -> impl Strategy<Value = Case> {
    let v2 = (
        1u8..=255,
        any::<u8>(),
        auth(),
        1u8..=255,
        prop::collection::vec(any::<[u8; 4]>(), 0..=40),
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
    )
        .prop_map(|(vrid, priority, auth, adver_int_s, v4, src, dst)| Case {
            fields: AdvertFields {
                vrid,
                priority,
                version: VersionFields::V2 { auth, adver_int_s },
            },
            v4,
            v6: Vec::new(),
            ctx: EncodeCtx {
                endpoints: Endpoints::V4 { src, dst },
                checksum: ChecksumStyle::Rfc,
            },
        });
    let v3 = (
        1u8..=255,
        any::<u8>(),
        1u16..=MAX_ADVER_INT_CS,
        prop::collection::vec(any::<[u8; 4]>(), 1..=40),
        prop::collection::vec(any::<[u8; 16]>(), 1..=20),
        endpoints(),
        style(),
    )
        .prop_map(|(vrid, priority, cs, v4, v6, endpoints, checksum)| Case {
            fields: AdvertFields {
                vrid,
                priority,
                version: VersionFields::V3 {
                    max_adver_int_cs: cs,
                },
            },
            v4,
            v6,
            ctx: EncodeCtx {
                endpoints,
                checksum,
            },
        });
    prop_oneof![v2, v3]
}

fn encoded(case: &Case) -> Vec<u8> {
    let mut out = vec![0u8; MAX_MESSAGE_LEN];
    let len = encode(&case.fields, case.addrs(), case.ctx, &mut out).expect("valid case encodes");
    out.truncate(len);
    out
}

fn decode_ctx(case: &Case) -> DecodeCtx {
    DecodeCtx {
        endpoints: case.ctx.endpoints,
        checksum: match case.ctx.checksum {
            ChecksumStyle::Rfc => ChecksumMode::Rfc,
            ChecksumStyle::V2Style => ChecksumMode::V2Style,
        },
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_valid_advert_decodes_to_what_was_encoded(case in valid_case()) {
        let msg = encoded(&case);
        let count = u8::try_from(case.addrs().len()).expect("at most 40");
        prop_assert_eq!(
            msg.len(),
            max_len(case.ctx.endpoints.family(), case.fields.version(), count)
        );
        let advert = decode(&msg, decode_ctx(&case)).expect("what encode writes decodes");
        prop_assert_eq!(advert.fields, case.fields);
        prop_assert_eq!(advert.addrs, case.addrs());
        prop_assert_eq!(advert.checksum, u16::from_be_bytes([msg[6], msg[7]]));
        prop_assert_eq!(advert.checksum_style, case.ctx.checksum);
        let either = DecodeCtx { checksum: ChecksumMode::AcceptEither, ..decode_ctx(&case) };
        prop_assert_eq!(decode(&msg, either).map(|a| a.fields), Ok(case.fields));
    }

    #[test]
    fn any_single_bit_flip_of_a_valid_advert_is_refused(case in valid_case(), bit in any::<usize>()) {
        let mut msg = encoded(&case);
        let bit = bit % (msg.len() * 8);
        msg[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(decode(&msg, decode_ctx(&case)).is_err(), "bit {} flipped", bit);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_what_decodes_reencodes(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        head in prop::option::of((2u8..=3, 0u8..=3)),
        endpoints in endpoints(),
        mode in mode(),
    ) {
        let mut bytes = bytes;
        // Steer a share of the inputs past the version / type / length checks.
        if let (Some((version, count)), true) = (head, bytes.len() >= 8) {
            bytes[0] = (version << 4) | 1;
            bytes[3] = count;
            let v = if version == 2 {
                vrrp_common::packet::Version::V2
            } else {
                vrrp_common::packet::Version::V3
            };
            bytes.resize(max_len(endpoints.family(), v, count), 0);
            // And past the checksum, with the pseudo-header for v3 unless mode is V2Style.
            bytes[6] = 0;
            bytes[7] = 0;
            let mut sum = match (v, endpoints, mode) {
                (vrrp_common::packet::Version::V2, _, _) | (_, _, ChecksumMode::V2Style) => {
                    Checksum::new()
                }
                (_, Endpoints::V4 { src, dst }, _) => {
                    pseudo_header_v4(&src, &dst, 112, bytes.len() as u16)
                }
                (_, Endpoints::V6 { src, dst }, _) => {
                    pseudo_header_v6(&src, &dst, 112, bytes.len() as u32)
                }
            };
            sum.add_bytes(&bytes);
            bytes[6..8].copy_from_slice(&sum.finish().to_be_bytes());
        }
        let ctx = DecodeCtx { endpoints, checksum: mode };
        if let Ok(advert) = decode(&bytes, ctx) {
            let mut out = vec![0u8; MAX_MESSAGE_LEN];
            let enc = EncodeCtx { endpoints, checksum: advert.checksum_style };
            let len = encode(&advert.fields, advert.addrs, enc, &mut out);
            prop_assert_eq!(len, Ok(bytes.len()));
            let again = decode(&out[..bytes.len()], ctx).expect("re-encoded advert decodes");
            prop_assert_eq!(again.fields, advert.fields);
            prop_assert_eq!(again.addrs, advert.addrs);
        }
    }
}
