//! The daemon's clock: the only place that reads time. Maps tokio's monotonic clock onto the
//! election core's injected [`vrrp_core::Instant`] (microseconds since the daemon started).

use std::time::Duration;

/// Monotonic time since the daemon started, in the core's units.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    base: tokio::time::Instant,
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            base: tokio::time::Instant::now(),
        }
    }

    /// Now, for the core.
    pub fn now(&self) -> vrrp_core::Instant {
        self.to_core(tokio::time::Instant::now())
    }

    pub fn to_core(&self, t: tokio::time::Instant) -> vrrp_core::Instant {
        let us = t.saturating_duration_since(self.base).as_micros();
        vrrp_core::Instant::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    /// A core deadline as a tokio instant to sleep until.
    pub fn to_tokio(&self, t: vrrp_core::Instant) -> tokio::time::Instant {
        self.base + Duration::from_micros(t.as_micros())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn core_and_tokio_instants_round_trip_to_the_microsecond() {
        let c = Clock::start();
        tokio::time::advance(Duration::from_micros(3_609_375)).await;
        let now = c.now();
        assert_eq!(now.as_micros(), 3_609_375);
        assert_eq!(c.to_core(c.to_tokio(now)), now);
    }
}
