//! LVS real servers (keepalived's checker half, keepalived.conf(5) "LVS CONFIGURATION"): health
//! checks — the sans-IO verdict logic ([`checker`]), one probe attempt of each kind ([`probe`]:
//! TCP_CHECK, HTTP_GET, SSL_GET, MISC_CHECK) and the tokio tasks that run them ([`monitor`]) —
//! and the desired IPVS table from configuration, health and roles ([`table`]).

pub mod checker;
pub mod monitor;
pub mod probe;
pub mod table;

pub use checker::{Checker, Next};
pub use monitor::{HealthChange, Monitor, Target, TargetKey, TargetState};
