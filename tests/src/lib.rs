//! Test helpers: network namespace topologies with guards that clean up.
