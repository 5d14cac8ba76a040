//! Durations in the YAML configuration: parsing ("1s", "100ms", "0.01", 2) and canonical printing.
//!
//! A bare number is seconds, like keepalived's `advert_int 0.01`. Strings may carry a unit:
//! `us`, `ms`, `s`, `m`. Decimals are parsed exactly (no floating-point rounding), so "0.01"
//! is exactly 10 ms and the VRRPv3 centisecond check (RFC 5798 §5.2.7) is exact.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// What a malformed duration message says is allowed.
pub(crate) const DURATION_HELP: &str = "expected seconds as a number (1, 0.5) or a number with a unit \
     us, ms, s or m (\"100ms\", \"1s\", \"1.5s\", \"5m\")";

/// A configured duration. Serialises canonically ("1s", "100ms", "250us").
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ConfigDuration(pub Duration);

impl ConfigDuration {
    /// The zero duration.
    pub const ZERO: Self = Self(Duration::ZERO);

    /// Whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// Whole milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }

    /// The std duration.
    pub const fn get(self) -> Duration {
        self.0
    }
}

impl From<ConfigDuration> for Duration {
    fn from(d: ConfigDuration) -> Self {
        d.0
    }
}

/// Parses a duration: a decimal number of seconds, or a decimal number followed by `us`, `ms`,
/// `s` or `m`. Exact: fractions finer than a nanosecond are refused, negative values too.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?}: {DURATION_HELP}");
    let t = text.trim();
    let (number, unit_ns): (&str, u128) = if let Some(n) = t.strip_suffix("us") {
        (n, 1_000)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1_000_000)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1_000_000_000)
    } else if let Some(n) = t.strip_suffix('m') {
        (n, 60_000_000_000)
    } else {
        (t, 1_000_000_000)
    };
    let number = number.trim_end();
    let (int_part, frac_part) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    if int_part.len() > 20 || frac_part.len() > 18 {
        return Err(bad());
    }
    let int: u128 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().map_err(|_| bad())?
    };
    let frac: u128 = if frac_part.is_empty() {
        0
    } else {
        frac_part.parse().map_err(|_| bad())?
    };
    let scale = 10u128.pow(frac_part.len() as u32);
    let frac_ns = frac * unit_ns;
    if !frac_ns.is_multiple_of(scale) {
        return Err(format!(
            "invalid duration {text:?}: finer than a nanosecond"
        ));
    }
    let total = int
        .checked_mul(unit_ns)
        .and_then(|v| v.checked_add(frac_ns / scale))
        .ok_or_else(bad)?;
    let secs = u64::try_from(total / 1_000_000_000).map_err(|_| bad())?;
    let nanos = (total % 1_000_000_000) as u32;
    Ok(Duration::new(secs, nanos))
}

/// Formats a duration canonically, in the largest of s / ms / us / ns that is exact.
pub fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns.is_multiple_of(1_000_000_000) {
        format!("{}s", ns / 1_000_000_000)
    } else if ns.is_multiple_of(1_000_000) {
        format!("{}ms", ns / 1_000_000)
    } else if ns.is_multiple_of(1_000) {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

impl fmt::Display for ConfigDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl Serialize for ConfigDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = ConfigDuration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration (seconds, or a string like \"100ms\" or \"1s\")")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(ConfigDuration(Duration::from_secs(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        u64::try_from(v)
            .map(|s| ConfigDuration(Duration::from_secs(s)))
            .map_err(|_| E::custom(format!("invalid duration {v}: negative; {DURATION_HELP}")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        // `{}` prints the shortest decimal that reads back as the same f64: "0.01", not
        // 0.01000000000000000020816681711721685. Parse that decimal exactly.
        let text = format!("{v}");
        if v.is_sign_negative() {
            return Err(E::custom(format!(
                "invalid duration {text}: negative; {DURATION_HELP}"
            )));
        }
        parse_duration(&text).map(ConfigDuration).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        parse_duration(v).map(ConfigDuration).map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for ConfigDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DurationVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Duration {
        match parse_duration(text) {
            Ok(d) => d,
            Err(e) => panic!("{text}: {e}"),
        }
    }

    #[test]
    fn bare_numbers_are_seconds() {
        assert_eq!(ok("1"), Duration::from_secs(1));
        assert_eq!(ok("0.01"), Duration::from_millis(10));
        assert_eq!(ok("40.95"), Duration::from_millis(40_950));
        assert_eq!(ok(".5"), Duration::from_millis(500));
        assert_eq!(ok("2."), Duration::from_secs(2));
    }

    #[test]
    fn units_scale_exactly() {
        assert_eq!(ok("100ms"), Duration::from_millis(100));
        assert_eq!(ok("1.5s"), Duration::from_millis(1_500));
        assert_eq!(ok("5m"), Duration::from_secs(300));
        assert_eq!(ok("250us"), Duration::from_micros(250));
        assert_eq!(ok("0.001ms"), Duration::from_micros(1));
        assert_eq!(ok(" 10 ms "), Duration::from_millis(10));
    }

    #[test]
    fn malformed_durations_are_refused_with_help() {
        for bad in ["", "s", "-1s", "1h", "1.2.3", "abc", "1e3", "+1"] {
            let err = parse_duration(bad).expect_err(bad);
            assert_eq!(
                err,
                format!("invalid duration {bad:?}: {DURATION_HELP}"),
                "{bad}"
            );
        }
    }

    #[test]
    fn sub_nanosecond_fractions_are_refused() {
        assert_eq!(
            parse_duration("0.0000000001").expect_err("too fine"),
            "invalid duration \"0.0000000001\": finer than a nanosecond"
        );
    }

    #[test]
    fn canonical_format_uses_the_largest_exact_unit() {
        assert_eq!(format_duration(Duration::from_secs(3)), "3s");
        assert_eq!(format_duration(Duration::from_millis(1_500)), "1500ms");
        assert_eq!(format_duration(Duration::from_micros(1_001)), "1001us");
        assert_eq!(format_duration(Duration::from_nanos(7)), "7ns");
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn yaml_numbers_and_strings_deserialize_exactly() {
        let v: Vec<ConfigDuration> =
            serde_yaml::from_str("[1, 0.01, 0.1, \"100ms\", 40.95]").expect("parses");
        assert_eq!(
            v,
            vec![
                ConfigDuration::from_secs(1),
                ConfigDuration::from_millis(10),
                ConfigDuration::from_millis(100),
                ConfigDuration::from_millis(100),
                ConfigDuration::from_millis(40_950),
            ]
        );
        assert!(serde_yaml::from_str::<ConfigDuration>("-2").is_err());
        assert!(serde_yaml::from_str::<ConfigDuration>("-0.5").is_err());
    }
}
