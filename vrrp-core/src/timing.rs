//! The RFC timer formulas (Skew_Time, Master_Down_Interval) in exact integer microseconds.
//!
//! RFC 5798 §6.1 defines, in centiseconds,
//! `Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256` and
//! `Master_Down_Interval = (3 * Master_Adver_Interval) + Skew_Time`.
//! RFC 3768 §6.1 (VRRPv2) defines `Skew_Time = (256 - Priority) / 256` seconds, independent of
//! the advertisement interval, and `Master_Down_Interval = 3 * Advertisement_Interval + Skew_Time`.
//!
//! Rounding: we compute in microseconds and floor once, at the end:
//! `skew_us = floor((256 - p) * interval_us / 256)`. This is what keepalived does (its timers are
//! microseconds) and matches the measured takeovers in interop.md: 1 s interval, priority 100 →
//! skew 609 375 µs exactly; 0.1 s interval → 60 937.5 µs floored to 60 937 µs. Evaluating the
//! RFC's centisecond formula literally in integers would give 6 cs = 60 000 µs instead; the
//! microsecond form is the exact value truncated by less than 1 µs. The largest product,
//! 255 × 40.95 s = 1.04e10 µs (or 255 × 255 s in v2), fits u64 with vast room.

use std::time::Duration;

use crate::time::Centis;
use crate::types::Version;

/// Skew_Time in microseconds for `priority` (RFC 5798 §6.1; RFC 3768 §6.1 for v2).
///
/// `interval` is Master_Adver_Interval in v3; v2 ignores it (skew is a fraction of one second).
/// A priority of 0 is treated as 0 (skew = the whole interval); callers only pass 1..=255.
#[must_use]
pub const fn skew_time_micros(version: Version, priority: u8, interval: Centis) -> u64 {
    let weight = 256 - priority as u64;
    match version {
        // RFC 5798 §6.1: ((256 - Priority) * Master_Adver_Interval) / 256.
        Version::V3 => weight * interval.as_micros() / 256,
        // RFC 3768 §6.1: (256 - Priority) / 256 seconds.
        Version::V2 => weight * 1_000_000 / 256,
    }
}

/// Master_Down_Interval in microseconds: `3 * interval + Skew_Time` (RFC 5798 §6.1, RFC 3768 §6.1).
#[must_use]
pub const fn master_down_interval_micros(version: Version, priority: u8, interval: Centis) -> u64 {
    3 * interval.as_micros() + skew_time_micros(version, priority, interval)
}

/// [`skew_time_micros`] as a [`Duration`].
#[must_use]
pub const fn skew_time(version: Version, priority: u8, interval: Centis) -> Duration {
    Duration::from_micros(skew_time_micros(version, priority, interval))
}

/// [`master_down_interval_micros`] as a [`Duration`].
#[must_use]
pub const fn master_down_interval(version: Version, priority: u8, interval: Centis) -> Duration {
    Duration::from_micros(master_down_interval_micros(version, priority, interval))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cs(v: u16) -> Centis {
        Centis::new(v).expect("valid interval")
    }

    // RFC 5798 §6.1 with interop.md's keepalived measurement: 1 s adverts, priority 100 →
    // skew 156/256 s = 0.609375 s, Master_Down_Interval 3.609375 s.
    #[test]
    fn one_second_interval_priority_100_gives_keepalived_measured_timings() {
        assert_eq!(skew_time_micros(Version::V3, 100, cs(100)), 609_375);
        assert_eq!(
            master_down_interval_micros(Version::V3, 100, cs(100)),
            3_609_375
        );
        // RFC 3768 §6.1: v2 gives the same values at 1 s.
        assert_eq!(skew_time_micros(Version::V2, 100, cs(100)), 609_375);
        assert_eq!(
            master_down_interval_micros(Version::V2, 100, cs(100)),
            3_609_375
        );
    }

    // RFC 5798 §6.1 at 0.1 s: the exact skew is 60 937.5 µs; we floor to 60 937 µs (documented).
    #[test]
    fn tenth_of_a_second_interval_floors_the_half_microsecond_of_skew() {
        assert_eq!(skew_time_micros(Version::V3, 100, cs(10)), 60_937);
        assert_eq!(
            master_down_interval_micros(Version::V3, 100, cs(10)),
            360_937
        );
    }

    // RFC 3768 §6.1: the v2 skew does not scale with the advertisement interval.
    #[test]
    fn v2_skew_is_a_fraction_of_one_second_whatever_the_interval() {
        let five_s = Centis::from_secs(5).expect("valid");
        assert_eq!(skew_time_micros(Version::V2, 200, five_s), 218_750);
        assert_eq!(
            master_down_interval_micros(Version::V2, 200, five_s),
            15_218_750
        );
        assert_eq!(skew_time_micros(Version::V3, 200, five_s), 1_093_750);
    }

    // RFC 5798 §6.1 at the extremes: 40.95 s and priority 1 must not overflow.
    #[test]
    fn largest_interval_and_lowest_priority_do_not_overflow() {
        assert_eq!(skew_time_micros(Version::V3, 1, Centis::MAX_V3), 40_790_039);
        assert_eq!(
            master_down_interval_micros(Version::V3, 1, Centis::MAX_V3),
            163_640_039
        );
        assert_eq!(skew_time_micros(Version::V3, 255, cs(1)), 39);
        let v2_max = Centis::from_secs(255).expect("valid");
        assert_eq!(
            master_down_interval_micros(Version::V2, 1, v2_max),
            765_996_093
        );
    }
}
