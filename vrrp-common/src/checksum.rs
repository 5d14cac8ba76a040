//! The Internet checksum (RFC 1071) and the VRRPv3 pseudo-headers (RFC 5798 §5.2.8).
//!
//! [`Checksum`] accumulates the 16-bit one's-complement sum of a byte stream fed in any number of
//! pieces (a piece may have an odd length: its last byte pairs with the first byte of the next
//! piece, as if the pieces were one buffer). [`Checksum::fold`] gives the sum, [`Checksum::finish`]
//! its complement, which is the value written into a checksum field (RFC 1071 §1).
//!
//! Verification (RFC 1071 §1 (3)): the sum over the data *including* its checksum field is 0xffff.

/// An incremental RFC 1071 one's-complement sum. The running sum is kept folded to 16 bits after
/// every word (end-around carry, RFC 1071 §2 (B)), so it cannot overflow whatever the input length.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Checksum {
    /// The folded sum so far; always <= 0xffff.
    sum: u32,
    /// The first byte of a word whose second byte has not been seen yet.
    odd: Option<u8>,
}

impl Checksum {
    /// An empty sum.
    pub const fn new() -> Self {
        Checksum { sum: 0, odd: None }
    }

    /// Adds one big-endian 16-bit word to a sum that has an even number of bytes so far.
    #[inline(always)]
    fn add_word(&mut self, word: u16) {
        self.sum += u32::from(word);
        self.sum = (self.sum & 0xffff) + (self.sum >> 16);
    }

    /// Adds bytes, continuing where the previous call stopped (network byte order, RFC 1071 §2 (A)).
    pub fn add_bytes(&mut self, bytes: &[u8]) -> &mut Self {
        let mut rest = bytes;
        if let Some(hi) = self.odd.take() {
            match rest {
                [lo, tail @ ..] => {
                    self.add_word(u16::from_be_bytes([hi, *lo]));
                    rest = tail;
                }
                [] => {
                    self.odd = Some(hi);
                    return self;
                }
            }
        }
        let (words, tail) = rest.as_chunks::<2>();
        for w in words {
            self.add_word(u16::from_be_bytes(*w));
        }
        if let [last] = tail {
            self.odd = Some(*last);
        }
        self
    }

    /// Adds a 16-bit value in network byte order.
    pub fn add_u16(&mut self, value: u16) -> &mut Self {
        self.add_bytes(&value.to_be_bytes())
    }

    /// Adds a 32-bit value in network byte order.
    pub fn add_u32(&mut self, value: u32) -> &mut Self {
        self.add_bytes(&value.to_be_bytes())
    }

    /// The one's-complement sum of everything added, folded to 16 bits. A trailing odd byte is
    /// padded with a zero byte (RFC 1071 §1 (2)). Verification succeeds when this is 0xffff.
    pub fn fold(&self) -> u16 {
        let mut s = *self;
        if let Some(hi) = s.odd.take() {
            s.add_word(u16::from_be_bytes([hi, 0]));
        }
        // `add_word` keeps the sum folded to at most 0xffff.
        s.sum as u16
    }

    /// The checksum to write into a zeroed checksum field: the complement of [`Checksum::fold`].
    pub fn finish(&self) -> u16 {
        !self.fold()
    }
}

/// The RFC 1071 checksum of one buffer (its checksum field, if any, must be zero).
pub fn checksum(bytes: &[u8]) -> u16 {
    Checksum::new().add_bytes(bytes).finish()
}

/// The sum of the IPv4 pseudo-header VRRPv3 covers (RFC 5798 §5.2.8, the layout of RFC 768 / RFC
/// 793 §3.1): source, destination, a zero byte, the protocol (112) and the VRRP message length.
/// Add the VRRP message to the returned sum.
pub fn pseudo_header_v4(src: &[u8; 4], dst: &[u8; 4], protocol: u8, length: u16) -> Checksum {
    let mut c = Checksum::new();
    c.add_bytes(src)
        .add_bytes(dst)
        .add_bytes(&[0, protocol])
        .add_u16(length);
    c
}

/// The sum of the IPv6 pseudo-header VRRPv3 covers (RFC 5798 §5.2.8, which points at RFC 2460
/// §8.1): source, destination, the 32-bit upper-layer length, three zero bytes and the next
/// header (112). Add the VRRP message to the returned sum.
pub fn pseudo_header_v6(src: &[u8; 16], dst: &[u8; 16], next_header: u8, length: u32) -> Checksum {
    let mut c = Checksum::new();
    c.add_bytes(src)
        .add_bytes(dst)
        .add_u32(length)
        .add_bytes(&[0, 0, 0, next_header]);
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_section_3_example_sums_to_ddf2() {
        // RFC 1071 §3 numerical example: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(Checksum::new().add_bytes(&bytes).fold(), 0xddf2);
        assert_eq!(checksum(&bytes), 0x220d);
    }

    #[test]
    fn pieces_of_odd_length_sum_like_one_buffer() {
        let bytes = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7, 0x12];
        let whole = Checksum::new().add_bytes(&bytes).fold();
        for split in 0..=bytes.len() {
            for split2 in split..=bytes.len() {
                let mut c = Checksum::new();
                c.add_bytes(&bytes[..split])
                    .add_bytes(&bytes[split..split2])
                    .add_bytes(&bytes[split2..]);
                assert_eq!(c.fold(), whole, "split at {split}, {split2}");
            }
        }
        // An odd trailing byte is padded with zero (RFC 1071 §1 (2)): ddf2 + 1200 = eff2.
        assert_eq!(whole, 0xeff2);
    }

    #[test]
    fn end_around_carry_folds_into_the_low_bits() {
        // ffff + 0001 = 1_0000 -> 0001 (one's complement addition).
        assert_eq!(
            Checksum::new().add_bytes(&[0xff, 0xff, 0x00, 0x01]).fold(),
            0x0001
        );
        // A long run of ffff words stays ffff and never overflows.
        let mut c = Checksum::new();
        for _ in 0..100_000 {
            c.add_u16(0xffff);
        }
        assert_eq!(c.fold(), 0xffff);
    }

    #[test]
    fn data_including_its_checksum_verifies_to_ffff() {
        let mut bytes = [0x45, 0x00, 0x00, 0x1c, 0x12, 0x34, 0x00, 0x00, 0xab, 0xcd];
        let c = checksum(&bytes);
        bytes[6..8].copy_from_slice(&c.to_be_bytes());
        assert_eq!(Checksum::new().add_bytes(&bytes).fold(), 0xffff);
    }

    #[test]
    fn ipv4_pseudo_header_sums_src_dst_zero_protocol_length() {
        // 10.99.0.11 -> 224.0.0.18, protocol 112, length 12:
        // 0a63 + 000b + e000 + 0012 + 0070 + 000c = eafc.
        let c = pseudo_header_v4(&[10, 99, 0, 11], &[224, 0, 0, 18], 112, 12);
        assert_eq!(c.fold(), 0xeafc);
    }

    #[test]
    fn ipv6_pseudo_header_sums_src_dst_length_next_header() {
        let mut src = [0u8; 16];
        src[0] = 0xfe;
        src[1] = 0x80;
        src[15] = 0x01;
        let mut dst = [0u8; 16];
        dst[0] = 0xff;
        dst[1] = 0x02;
        dst[15] = 0x12;
        // fe80 + 0001 + ff02 = 1_fd83 -> fd84; + 0012 + 0028 + 0070 = fe2e.
        let c = pseudo_header_v6(&src, &dst, 112, 40);
        assert_eq!(c.fold(), 0xfe2e);
    }
}
