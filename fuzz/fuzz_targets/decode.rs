//! Fuzz target: `vrrp_common::packet::decode` on arbitrary bytes with an arbitrary context must
//! never panic or read out of bounds, and whatever it accepts must re-encode to the same message
//! (up to what the RFCs say to ignore) and decode again to the same advert.
#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use vrrp_common::checksum::{Checksum, pseudo_header_v4, pseudo_header_v6};
use vrrp_common::packet::{
    Auth, ChecksumMode, DecodeCtx, EncodeCtx, Endpoints, MAX_MESSAGE_LEN, Version, VersionFields,
    decode, encode,
};
use vrrp_common::proto::IPPROTO_VRRP;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    ipv6: bool,
    src: [u8; 16],
    dst: [u8; 16],
    mode: u8,
    /// Write a valid checksum into the message first, so the fuzzer gets past the checksum to
    /// the field checks and the round trip (unset: the checksum check itself is fuzzed).
    fix_checksum: bool,
    /// The VRRP message (the IP payload); last, so it takes the rest of the fuzzer's bytes.
    msg: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let endpoints = if input.ipv6 {
        Endpoints::V6 {
            src: input.src,
            dst: input.dst,
        }
    } else {
        let mut src = [0; 4];
        let mut dst = [0; 4];
        src.copy_from_slice(&input.src[..4]);
        dst.copy_from_slice(&input.dst[..4]);
        Endpoints::V4 { src, dst }
    };
    let checksum = match input.mode % 3 {
        0 => ChecksumMode::Rfc,
        1 => ChecksumMode::V2Style,
        _ => ChecksumMode::AcceptEither,
    };
    let ctx = DecodeCtx {
        endpoints,
        checksum,
    };
    let mut fixed = [0u8; MAX_MESSAGE_LEN];
    let msg = match input.msg.get(..8) {
        Some(header) if input.fix_checksum && input.msg.len() <= MAX_MESSAGE_LEN => {
            let buf = &mut fixed[..input.msg.len()];
            buf.copy_from_slice(input.msg);
            buf[6] = 0;
            buf[7] = 0;
            let mut sum = match (header[0] >> 4, endpoints, checksum) {
                (3, Endpoints::V4 { src, dst }, ChecksumMode::Rfc | ChecksumMode::AcceptEither) => {
                    pseudo_header_v4(&src, &dst, IPPROTO_VRRP, buf.len() as u16)
                }
                (3, Endpoints::V6 { src, dst }, ChecksumMode::Rfc | ChecksumMode::AcceptEither) => {
                    pseudo_header_v6(&src, &dst, IPPROTO_VRRP, buf.len() as u32)
                }
                _ => Checksum::new(),
            };
            sum.add_bytes(buf);
            buf[6..8].copy_from_slice(&sum.finish().to_be_bytes());
            &*buf
        }
        _ => input.msg,
    };
    let Ok(advert) = decode(msg, ctx) else {
        return;
    };

    let mut out = [0u8; MAX_MESSAGE_LEN];
    let enc = EncodeCtx {
        endpoints,
        checksum: advert.checksum_style,
    };
    let len = encode(&advert.fields, advert.addrs, enc, &mut out).expect("accepted advert encodes");
    assert_eq!(len, msg.len(), "re-encoded length");
    let again = decode(&out[..len], ctx).expect("re-encoded advert decodes");
    assert_eq!(again.fields, advert.fields);
    assert_eq!(again.addrs, advert.addrs);
    assert_eq!(again.checksum_style, advert.checksum_style);

    // Byte-exact, except what the RFCs say to ignore on receive and send as zero.
    let mut canonical = msg.to_vec();
    match advert.fields.version {
        // RFC 5798 §5.2.6: reserved bits.
        VersionFields::V3 { .. } => canonical[4] &= 0x0f,
        // RFC 3768 §5.3.10: auth data without authentication.
        VersionFields::V2 {
            auth: Auth::None, ..
        } => {
            let n = canonical.len();
            canonical[n - 8..].fill(0);
        }
        VersionFields::V2 { .. } => {}
    }
    assert_eq!(advert.version() == Version::V2, msg[0] >> 4 == 2);
    // The checksum depends on the ignored bytes, and one's complement has two zeros (0xffff is
    // received as a valid 0x0000; encode writes 0x0000).
    if canonical == msg {
        let sent = u16::from_be_bytes([msg[6], msg[7]]);
        let written = u16::from_be_bytes([out[6], out[7]]);
        assert!(
            sent == written || (sent == 0xffff && written == 0),
            "checksum {sent:#06x} -> {written:#06x}"
        );
    }
    canonical[6..8].copy_from_slice(&out[6..8]);
    assert_eq!(&out[..len], &canonical[..], "re-encoding differs");
});
