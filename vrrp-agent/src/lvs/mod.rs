//! LVS: the desired IPVS table from configuration, health and roles.

pub mod table;
