//! Sans-IO VRRP election state machine (RFC 5798 §6, RFC 3768 §6): no sockets, no clock reads.
