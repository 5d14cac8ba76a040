//! IPVS (Linux Virtual Server) over generic netlink: typed model, wire codec, blocking client,
//! and a pure planner that turns (desired, current, owned) into the minimal list of operations.

pub mod model;

pub use model::*;
