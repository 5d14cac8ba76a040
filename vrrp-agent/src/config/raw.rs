//! The configuration as written: serde structs with every key optional and unknown keys refused.
//!
//! Numbers are read wide (i64) so that range errors come from validation, with a position and
//! the allowed range, rather than from serde's "expected u8". `validate.rs` turns this into the
//! typed `Config` with defaults applied.

use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, SeqAccess, Visitor};

use super::duration::ConfigDuration;

/// A YAML mapping from unique names to bodies, in file order (instances, scripts, sync groups).
#[derive(Debug)]
pub(crate) struct NamedMap<T>(pub Vec<(String, T)>);

impl<T> Default for NamedMap<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NamedMap<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = NamedMap<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a mapping from names to settings")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(NamedMap(Vec::new()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out: Vec<(String, T)> = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    if out.iter().any(|(n, _)| *n == name) {
                        return Err(de::Error::custom(format!(
                            "duplicate name `{name}`: each name may appear once"
                        )));
                    }
                    let body = map.next_value::<T>()?;
                    out.push((name, body));
                }
                Ok(NamedMap(out))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// A command: an argv list, or one string split on blanks with '…' / "…" quoting.
#[derive(Debug, Clone)]
pub(crate) struct RawCommand(pub Vec<String>);

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawCommand;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a command: a string \"/path/to/script arg\" or a list [\"/path/to/script\", \"arg\"]")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                split_command(v).map(RawCommand).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut argv = Vec::new();
                while let Some(arg) = seq.next_element::<String>()? {
                    argv.push(arg);
                }
                Ok(RawCommand(argv))
            }
        }
        d.deserialize_any(V)
    }
}

/// Splits a command line on blanks; single and double quotes group words (no escapes).
pub(crate) fn split_command(line: &str) -> Result<Vec<String>, String> {
    let mut argv = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    argv.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(format!("unterminated {q} quote in command {line:?}"));
    }
    if in_word {
        argv.push(cur);
    }
    Ok(argv)
}

/// Deserialises either a short string form (parsed by `from_str`) or a mapping `M`.
pub(crate) trait StringOrMap: Sized {
    /// The mapping form.
    type Map: DeserializeOwned;
    /// What the string form looks like, for messages.
    const EXPECTING: &'static str;
    /// Parses the string form.
    fn from_str(s: &str) -> Result<Self, String>;
    /// Converts the mapping form.
    fn from_map(m: Self::Map) -> Self;
}

pub(crate) fn string_or_map<'de, D: Deserializer<'de>, T: StringOrMap>(
    d: D,
) -> Result<T, D::Error> {
    struct V<T>(PhantomData<T>);
    impl<'de, T: StringOrMap> Visitor<'de> for V<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
            T::from_str(v).map_err(E::custom)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::Map::deserialize(de::value::MapAccessDeserializer::new(map)).map(T::from_map)
        }
    }
    d.deserialize_any(V(PhantomData))
}

macro_rules! string_or_map_deserialize {
    ($t:ty) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                string_or_map(d)
            }
        }
    };
}

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub global: RawGlobal,
    #[serde(default)]
    pub scripts: NamedMap<RawScript>,
    #[serde(default)]
    pub instances: NamedMap<RawInstance>,
    #[serde(default)]
    pub sync_groups: NamedMap<RawSyncGroup>,
    #[serde(default)]
    pub lvs: super::raw_lvs::RawLvs,
    #[serde(default)]
    pub virtual_servers: NamedMap<super::raw_lvs::RawVirtualServer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGlobal {
    pub router_id: Option<String>,
    pub notify_fifo: Option<String>,
    pub control_socket: Option<String>,
    pub enable_script_security: Option<bool>,
    pub script_user: Option<String>,
    #[serde(default)]
    pub dataplane: RawDataplane,
    #[serde(default)]
    pub defaults: RawDefaults,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDataplane {
    pub xdp_mode: Option<super::XdpMode>,
    pub deadman_timeout: Option<ConfigDuration>,
    pub absorb_adverts: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDefaults {
    pub version: Option<i64>,
    pub advert_interval: Option<ConfigDuration>,
    pub priority: Option<i64>,
    #[serde(default)]
    pub garp: RawGarp,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGarp {
    pub delay: Option<ConfigDuration>,
    pub repeat: Option<i64>,
    pub interval: Option<ConfigDuration>,
    pub refresh: Option<ConfigDuration>,
    pub refresh_repeat: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScript {
    pub command: RawCommand,
    pub interval: Option<ConfigDuration>,
    pub timeout: Option<ConfigDuration>,
    pub weight: Option<i64>,
    pub rise: Option<i64>,
    pub fall: Option<i64>,
    pub user: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInstance {
    pub interface: String,
    pub vrid: i64,
    pub version: Option<i64>,
    pub family: Option<super::Family>,
    pub priority: Option<i64>,
    pub address_owner: Option<bool>,
    pub advert_interval: Option<ConfigDuration>,
    pub preempt: Option<bool>,
    pub preempt_delay: Option<ConfigDuration>,
    pub accept_mode: Option<bool>,
    pub unicast_src: Option<String>,
    #[serde(default)]
    pub unicast_peers: Vec<String>,
    pub authentication: Option<RawAuthentication>,
    #[serde(default)]
    pub virtual_addresses: Vec<RawVirtualAddress>,
    #[serde(default)]
    pub excluded_addresses: Vec<RawVirtualAddress>,
    #[serde(default)]
    pub garp: RawGarp,
    #[serde(default)]
    pub track: RawTrack,
    #[serde(default)]
    pub notify: RawNotify,
    pub lower_prio_no_advert: Option<bool>,
    pub higher_prio_send_advert: Option<bool>,
    pub v3_checksum_as_v2: Option<bool>,
}

/// keepalived's auth_type values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RawAuthType {
    None,
    Pass,
    Ah,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuthentication {
    #[serde(rename = "type")]
    pub kind: RawAuthType,
    pub password: Option<String>,
}

/// A virtual address: "ADDR[/PREFIX] [dev IFACE] [label LABEL]" or the mapping form.
#[derive(Debug, Clone)]
pub(crate) struct RawVirtualAddress {
    pub address: String,
    pub prefix: Option<i64>,
    pub device: Option<String>,
    pub label: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVirtualAddressMap {
    pub address: String,
    pub prefix: Option<i64>,
    pub device: Option<String>,
    pub label: Option<String>,
}

impl StringOrMap for RawVirtualAddress {
    type Map = RawVirtualAddressMap;
    const EXPECTING: &'static str = "a virtual address: \"ADDR[/PREFIX] [dev IFACE] [label LABEL]\" or {address, prefix, device, label}";

    fn from_str(s: &str) -> Result<Self, String> {
        let help = "expected \"ADDR[/PREFIX] [dev IFACE] [label LABEL]\"";
        let mut words = s.split_whitespace();
        let first = words
            .next()
            .ok_or_else(|| format!("empty virtual address; {help}"))?;
        let (address, prefix) = match first.split_once('/') {
            Some((a, p)) => {
                let prefix = p
                    .parse::<i64>()
                    .map_err(|_| format!("invalid prefix length {p:?} in {s:?}; {help}"))?;
                (a.to_owned(), Some(prefix))
            }
            None => (first.to_owned(), None),
        };
        let mut out = RawVirtualAddress {
            address,
            prefix,
            device: None,
            label: None,
        };
        while let Some(word) = words.next() {
            let slot = match word {
                "dev" => &mut out.device,
                "label" => &mut out.label,
                other => {
                    return Err(format!(
                        "unknown option {other:?} in virtual address {s:?}; allowed options: dev, label"
                    ));
                }
            };
            let value = words
                .next()
                .ok_or_else(|| format!("{word} needs a value in {s:?}; {help}"))?;
            if slot.replace(value.to_owned()).is_some() {
                return Err(format!("{word} given twice in {s:?}"));
            }
        }
        Ok(out)
    }

    fn from_map(m: RawVirtualAddressMap) -> Self {
        RawVirtualAddress {
            address: m.address,
            prefix: m.prefix,
            device: m.device,
            label: m.label,
        }
    }
}
string_or_map_deserialize!(RawVirtualAddress);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrack {
    #[serde(default)]
    pub scripts: Vec<RawTrackScript>,
    #[serde(default)]
    pub interfaces: Vec<RawTrackInterface>,
    #[serde(default)]
    pub files: Vec<RawTrackFile>,
}

/// A tracked script: its name, or {name, weight}.
#[derive(Debug)]
pub(crate) struct RawTrackScript {
    pub name: String,
    pub weight: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrackScriptMap {
    pub name: String,
    pub weight: Option<i64>,
}

impl StringOrMap for RawTrackScript {
    type Map = RawTrackScriptMap;
    const EXPECTING: &'static str = "a script name or {name, weight}";
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(RawTrackScript {
            name: s.to_owned(),
            weight: None,
        })
    }
    fn from_map(m: RawTrackScriptMap) -> Self {
        RawTrackScript {
            name: m.name,
            weight: m.weight,
        }
    }
}
string_or_map_deserialize!(RawTrackScript);

/// A tracked interface: its name, or {name, weight}.
#[derive(Debug)]
pub(crate) struct RawTrackInterface {
    pub name: String,
    pub weight: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrackInterfaceMap {
    pub name: String,
    pub weight: Option<i64>,
}

impl StringOrMap for RawTrackInterface {
    type Map = RawTrackInterfaceMap;
    const EXPECTING: &'static str = "an interface name or {name, weight}";
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(RawTrackInterface {
            name: s.to_owned(),
            weight: None,
        })
    }
    fn from_map(m: RawTrackInterfaceMap) -> Self {
        RawTrackInterface {
            name: m.name,
            weight: m.weight,
        }
    }
}
string_or_map_deserialize!(RawTrackInterface);

/// A tracked file: its path, or {path, weight}.
#[derive(Debug)]
pub(crate) struct RawTrackFile {
    pub path: String,
    pub weight: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTrackFileMap {
    pub path: String,
    pub weight: Option<i64>,
}

impl StringOrMap for RawTrackFile {
    type Map = RawTrackFileMap;
    const EXPECTING: &'static str = "a file path or {path, weight}";
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(RawTrackFile {
            path: s.to_owned(),
            weight: None,
        })
    }
    fn from_map(m: RawTrackFileMap) -> Self {
        RawTrackFile {
            path: m.path,
            weight: m.weight,
        }
    }
}
string_or_map_deserialize!(RawTrackFile);

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotify {
    pub master: Option<RawCommand>,
    pub backup: Option<RawCommand>,
    pub fault: Option<RawCommand>,
    pub stop: Option<RawCommand>,
    pub any: Option<RawCommand>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGroupNotify {
    pub master: Option<RawCommand>,
    pub backup: Option<RawCommand>,
    pub fault: Option<RawCommand>,
    pub any: Option<RawCommand>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSyncGroup {
    pub instances: Vec<String>,
    #[serde(default)]
    pub notify: RawGroupNotify,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_strings_split_on_blanks_with_quotes() {
        assert_eq!(
            split_command("/bin/check  --name 'a b' \"c d\"e").expect("splits"),
            vec!["/bin/check", "--name", "a b", "c de"]
        );
        assert_eq!(split_command("''").expect("splits"), vec![""]);
        assert_eq!(
            split_command("/bin/x 'oops").expect_err("unterminated"),
            "unterminated ' quote in command \"/bin/x 'oops\""
        );
    }

    #[test]
    fn virtual_address_string_form_parses_dev_and_label() {
        let v =
            RawVirtualAddress::from_str("192.0.2.10/24 dev eth0 label eth0:vip").expect("parses");
        assert_eq!(v.address, "192.0.2.10");
        assert_eq!(v.prefix, Some(24));
        assert_eq!(v.device.as_deref(), Some("eth0"));
        assert_eq!(v.label.as_deref(), Some("eth0:vip"));
        let e = RawVirtualAddress::from_str("192.0.2.10 brd 192.0.2.255").expect_err("brd");
        assert_eq!(
            e,
            "unknown option \"brd\" in virtual address \"192.0.2.10 brd 192.0.2.255\"; allowed options: dev, label"
        );
    }
}
