//! The vrrp-agent command line (subcommands are added as they are built).
fn main() {}
