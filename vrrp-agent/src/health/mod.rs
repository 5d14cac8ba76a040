//! Health of what instances track: scripts (run safely), tracked objects and their weights.

pub mod script;
pub mod track;
