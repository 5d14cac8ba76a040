//! The VRRP wire format (RFC 3768 §5, RFC 5798 §5): decode and encode without allocation.
//! (To be written: issue 3.)
