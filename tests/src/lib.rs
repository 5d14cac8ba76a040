//! Test helpers: network namespace topologies with guards that clean up.

pub mod keepalived;
pub mod topo;
