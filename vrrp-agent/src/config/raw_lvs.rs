//! The LVS part of the configuration as written (`lvs:`, `virtual_servers:`): serde structs with
//! every key optional and unknown keys refused, numbers read as i64 and names as strings, so
//! that `validate_lvs.rs` reports range and spelling errors with a position and what is allowed.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::duration::ConfigDuration;
use super::lvs::{OnStop, ProgramOn};
use super::raw::RawCommand;

/// `lvs:` (no keepalived equivalent).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLvs {
    pub program_on: Option<ProgramOn>,
    pub on_stop: Option<OnStop>,
}

/// A virtual server body (keepalived `virtual_server IP PORT { ... }` /
/// `virtual_server fwmark N { ... }`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVirtualServer {
    pub address: Option<String>,
    pub port: Option<i64>,
    pub protocol: Option<String>,
    pub fwmark: Option<i64>,
    pub family: Option<super::Family>,
    pub scheduler: Option<String>,
    pub scheduler_flags: Option<Vec<String>>,
    pub ops: Option<bool>,
    pub persistence_timeout: Option<i64>,
    pub persistence_granularity: Option<RawGranularity>,
    pub forwarding: Option<String>,
    pub instance: Option<String>,
    pub quorum: Option<i64>,
    pub hysteresis: Option<i64>,
    pub quorum_weight: Option<i64>,
    pub quorum_up: Option<RawCommand>,
    pub quorum_down: Option<RawCommand>,
    pub sorry_server: Option<RawSorryServer>,
    pub inhibit_on_failure: Option<bool>,
    pub delay_loop: Option<ConfigDuration>,
    pub check: Option<RawCheck>,
    pub real_servers: Option<Vec<RawRealServer>>,
}

/// keepalived `sorry_server IP PORT` (+ `sorry_server_lvs_method`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSorryServer {
    pub address: String,
    pub port: Option<i64>,
    pub forwarding: Option<String>,
}

/// keepalived `real_server IP PORT { ... }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRealServer {
    pub address: String,
    pub port: Option<i64>,
    pub weight: Option<i64>,
    pub forwarding: Option<String>,
    pub upper_threshold: Option<i64>,
    pub lower_threshold: Option<i64>,
    pub inhibit_on_failure: Option<bool>,
    pub check: Option<RawCheck>,
}

/// A health check: one flat mapping for every type; validation refuses keys that do not apply
/// to the given `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheck {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub interval: Option<ConfigDuration>,
    pub timeout: Option<ConfigDuration>,
    pub retries: Option<i64>,
    pub retry_delay: Option<ConfigDuration>,
    pub rise: Option<i64>,
    pub fall: Option<i64>,
    pub alpha: Option<bool>,
    pub connect_ip: Option<String>,
    pub connect_port: Option<i64>,
    pub path: Option<String>,
    pub host: Option<String>,
    pub status: Option<RawStatus>,
    pub digest: Option<String>,
    pub contains: Option<String>,
    pub verify_tls: Option<bool>,
    pub command: Option<RawCommand>,
    pub user: Option<String>,
}

/// `persistence_granularity`: a prefix length (24), or an IPv4 netmask as keepalived writes it
/// ("255.255.255.0").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawGranularity {
    Prefix(i64),
    Text(String),
}

impl<'de> Deserialize<'de> for RawGranularity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawGranularity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a prefix length (24) or an IPv4 netmask (\"255.255.255.0\")")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(RawGranularity::Prefix(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(RawGranularity::Prefix(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(match v.trim().parse::<i64>() {
                    Ok(p) => RawGranularity::Prefix(p),
                    Err(_) => RawGranularity::Text(v.to_owned()),
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// One accepted status: a code (200) or a range string ("200-299").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawStatusItem {
    Code(i64),
    Text(String),
}

struct StatusItemVisitor;

impl Visitor<'_> for StatusItemVisitor {
    type Value = RawStatusItem;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a status code (200) or a range (\"200-299\")")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(RawStatusItem::Code(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(RawStatusItem::Code(i64::try_from(v).unwrap_or(i64::MAX)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(RawStatusItem::Text(v.to_owned()))
    }
}

impl<'de> Deserialize<'de> for RawStatusItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StatusItemVisitor)
    }
}

/// `status`: a list of codes and ranges, or one of them alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawStatus(pub Vec<RawStatusItem>);

impl<'de> Deserialize<'de> for RawStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawStatus;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of status codes and ranges ([200, \"300-399\"])")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                StatusItemVisitor.visit_i64(v).map(|i| RawStatus(vec![i]))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                StatusItemVisitor.visit_u64(v).map(|i| RawStatus(vec![i]))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                StatusItemVisitor.visit_str(v).map(|i| RawStatus(vec![i]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<RawStatusItem>()? {
                    out.push(item);
                }
                Ok(RawStatus(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn granularity_reads_prefixes_and_netmasks() {
        let v: Vec<RawGranularity> =
            serde_yaml::from_str("[24, \"16\", 255.255.255.0]").expect("parses");
        assert_eq!(
            v,
            [
                RawGranularity::Prefix(24),
                RawGranularity::Prefix(16),
                RawGranularity::Text("255.255.255.0".into())
            ]
        );
    }

    #[test]
    fn status_reads_codes_ranges_and_a_single_value() {
        let s: RawStatus = serde_yaml::from_str("[200, \"300-399\"]").expect("parses");
        assert_eq!(
            s.0,
            [
                RawStatusItem::Code(200),
                RawStatusItem::Text("300-399".into())
            ]
        );
        let s: RawStatus = serde_yaml::from_str("200-299").expect("parses");
        assert_eq!(s.0, [RawStatusItem::Text("200-299".into())]);
    }
}
