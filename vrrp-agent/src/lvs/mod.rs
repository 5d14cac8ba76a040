//! Health checking of LVS real servers (keepalived's checker: TCP_CHECK, HTTP_GET, SSL_GET,
//! MISC_CHECK, keepalived.conf(5) "LVS CONFIGURATION"): the sans-IO verdict logic
//! ([`checker`]), one probe attempt of each kind ([`probe`]) and the tokio tasks that run them
//! ([`monitor`]).

pub mod checker;
pub mod monitor;
pub mod probe;

pub use checker::{Checker, Next};
pub use monitor::{HealthChange, Monitor, Target, TargetKey, TargetState};
