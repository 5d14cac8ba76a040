//! The Internet checksum (RFC 1071) and the VRRPv3 pseudo-headers (RFC 5798 §5.2.8).
//! (To be written: issue 3.)
