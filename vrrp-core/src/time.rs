//! Injected time for the sans-IO core: `Instant` (µs since an arbitrary epoch) and `Centis` intervals.
//!
//! The core never reads a clock. The caller passes `now` into every call; deadlines come back as
//! [`Instant`]s the caller must arm (RFC 5798 §6.2 timers become deadlines, not tasks).

use core::fmt;
use core::ops::{Add, Sub};
use std::time::Duration;

/// A point in time: whole microseconds since an arbitrary epoch chosen by the caller.
///
/// Microseconds represent every advertisement interval exactly (whole centiseconds, RFC 5798
/// §5.2.7); skew times `k/256` of an interval are floored to the microsecond (see
/// [`crate::timing`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The epoch (time 0).
    pub const ZERO: Instant = Instant(0);

    /// Builds an instant from microseconds since the epoch.
    #[must_use]
    pub const fn from_micros(us: u64) -> Self {
        Instant(us)
    }

    /// Microseconds since the epoch.
    #[must_use]
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// `self - earlier`, or zero when `earlier` is later than `self`.
    #[must_use]
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(earlier.0))
    }
}

/// Converts a duration to whole microseconds, saturating at `u64::MAX` (truncates below 1 µs).
#[must_use]
pub fn duration_micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturating addition (sub-microsecond parts of the duration are truncated).
    fn add(self, rhs: Duration) -> Instant {
        Instant(self.0.saturating_add(duration_micros(rhs)))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    /// Saturating difference: zero if `rhs` is later than `self`.
    fn sub(self, rhs: Instant) -> Duration {
        self.saturating_since(rhs)
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

/// An advertisement interval in centiseconds, never zero.
///
/// VRRPv3 carries a 12-bit `Max Adver Int` in centiseconds, 1..=4095 (RFC 5798 §5.2.7; 0 is
/// invalid). VRRPv2 carries whole seconds 1..=255 (RFC 3768 §5.3.7), which [`Centis::from_secs`]
/// maps to 100..=25500 centiseconds, so the type's range is 1..=25500.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Centis(u16);

impl Centis {
    /// Largest VRRPv3 interval: 4095 cs = 40.95 s (RFC 5798 §5.2.7).
    pub const MAX_V3: Centis = Centis(4095);
    /// The RFC default advertisement interval: 100 cs = 1 s (RFC 5798 §5.2.7, RFC 3768 §5.3.7).
    pub const DEFAULT: Centis = Centis(100);

    /// A VRRPv3 interval: `Some` for 1..=4095 centiseconds, `None` otherwise (RFC 5798 §5.2.7).
    #[must_use]
    pub const fn new(cs: u16) -> Option<Self> {
        if cs >= 1 && cs <= 4095 {
            Some(Centis(cs))
        } else {
            None
        }
    }

    /// A VRRPv2 interval: `Some` for 1..=255 whole seconds, `None` for 0 (RFC 3768 §5.3.7).
    #[must_use]
    pub const fn from_secs(secs: u8) -> Option<Self> {
        if secs == 0 {
            None
        } else {
            Some(Centis(secs as u16 * 100))
        }
    }

    /// The interval in centiseconds.
    #[must_use]
    pub const fn get(self) -> u16 {
        self.0
    }

    /// The interval in microseconds (exact: 1 cs = 10 000 µs).
    #[must_use]
    pub const fn as_micros(self) -> u64 {
        self.0 as u64 * 10_000
    }

    /// The interval as a [`Duration`].
    #[must_use]
    pub const fn as_duration(self) -> Duration {
        Duration::from_micros(self.as_micros())
    }

    /// `Some(seconds)` when the interval is a whole number of seconds that fits VRRPv2's 8-bit
    /// field (RFC 3768 §5.3.7), else `None`.
    #[must_use]
    pub const fn whole_secs(self) -> Option<u8> {
        if self.0.is_multiple_of(100) && self.0 / 100 <= 255 {
            Some((self.0 / 100) as u8)
        } else {
            None
        }
    }
}

impl fmt::Display for Centis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}s", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 5798 §5.2.7: Max Adver Int is 12 bits of centiseconds and 0 is not a valid interval.
    #[test]
    fn centis_accepts_exactly_the_v3_twelve_bit_range() {
        assert_eq!(Centis::new(0), None);
        assert_eq!(Centis::new(1).map(Centis::get), Some(1));
        assert_eq!(Centis::new(4095).map(Centis::get), Some(4095));
        assert_eq!(Centis::new(4096), None);
    }

    // RFC 3768 §5.3.7: the v2 Adver Int is in seconds, default 1 s.
    #[test]
    fn centis_from_v2_seconds_round_trips_through_whole_secs() {
        assert_eq!(Centis::from_secs(0), None);
        assert_eq!(Centis::from_secs(255).map(Centis::get), Some(25_500));
        assert_eq!(Centis::from_secs(3).and_then(Centis::whole_secs), Some(3));
        assert_eq!(Centis::new(150).and_then(Centis::whole_secs), None);
        assert_eq!(Centis::DEFAULT.as_micros(), 1_000_000);
    }

    #[test]
    fn instant_arithmetic_saturates_instead_of_wrapping() {
        let t = Instant::from_micros(5);
        assert_eq!(t - Instant::from_micros(9), Duration::ZERO);
        assert_eq!((t + Duration::from_micros(7)).as_micros(), 12);
        assert_eq!(
            (Instant::from_micros(u64::MAX) + Duration::from_secs(1)).as_micros(),
            u64::MAX
        );
        assert_eq!(Instant::from_micros(3_609_375).to_string(), "3.609375s");
    }
}
