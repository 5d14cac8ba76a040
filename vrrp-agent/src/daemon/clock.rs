//! The daemon's clock: the only place that reads time. CLOCK_MONOTONIC in microseconds since the
//! daemon started is the election core's injected [`vrrp_core::Instant`]; deadlines are waited for
//! with a timerfd armed at the absolute time, so a timer fires within microseconds of the
//! deadline (tokio's timer wheel rounds up to the next millisecond, which at 10 ms adverts
//! is a tenth of an interval).

use std::io;
use std::os::fd::{AsFd as _, AsRawFd, RawFd};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use nix::time::clock_gettime;
use tokio::io::unix::AsyncFd;

fn monotonic_ns() -> u64 {
    // CLOCK_MONOTONIC cannot fail on Linux.
    clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|ts| ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64)
        .unwrap_or(0)
}

/// Monotonic time since the daemon started, in the core's units.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    base_ns: u64,
}

impl Clock {
    pub fn start() -> Clock {
        Clock {
            base_ns: monotonic_ns(),
        }
    }

    /// Now, for the core.
    pub fn now(&self) -> vrrp_core::Instant {
        vrrp_core::Instant::from_micros(monotonic_ns().saturating_sub(self.base_ns) / 1000)
    }

    /// Absolute CLOCK_MONOTONIC nanoseconds (e.g. `bpf_ktime_get_ns()` from the XDP program) as
    /// a core instant; times before the daemon started are the epoch.
    pub fn instant_of_ns(&self, ns: u64) -> vrrp_core::Instant {
        vrrp_core::Instant::from_micros(ns.saturating_sub(self.base_ns) / 1000)
    }

    /// A core instant as absolute CLOCK_MONOTONIC nanoseconds.
    fn absolute_ns(&self, t: vrrp_core::Instant) -> u64 {
        self.base_ns
            .saturating_add(t.as_micros().saturating_mul(1000))
    }
}

struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A one-shot timer on an absolute CLOCK_MONOTONIC deadline.
pub struct DeadlineTimer {
    fd: AsyncFd<Fd>,
}

impl DeadlineTimer {
    pub fn new() -> io::Result<DeadlineTimer> {
        let t = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )?;
        // SAFETY: the TimerFd owns its descriptor, returns the same one for its whole life and
        // closes it only when the AsyncFd drops it.
        let fd = unsafe { AsyncFd::register_with_interest(Fd(t), tokio::io::Interest::READABLE) }
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(DeadlineTimer { fd })
    }

    /// Waits until `t` (a deadline in the past fires at once). Cancel-safe: dropping the future
    /// leaves the timer armed; the next call re-arms it.
    pub async fn wait_until(&mut self, clock: &Clock, t: vrrp_core::Instant) -> io::Result<()> {
        let ns = clock.absolute_ns(t).max(1);
        let spec = TimeSpec::new((ns / 1_000_000_000) as i64, (ns % 1_000_000_000) as i64);
        self.fd.get_ref().0.set(
            Expiration::OneShot(spec),
            TimerSetTimeFlags::TFD_TIMER_ABSTIME,
        )?;
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| fd.get_ref().0.wait().map_err(io::Error::from)) {
                Ok(res) => return res,
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn now_counts_microseconds_since_start() {
        let c = Clock::start();
        let a = c.now();
        std::thread::sleep(Duration::from_millis(5));
        let b = c.now();
        assert!(b.as_micros() - a.as_micros() >= 5_000, "{a} -> {b}");
        assert_eq!(c.absolute_ns(vrrp_core::Instant::ZERO), c.base_ns);
    }

    #[tokio::test]
    async fn the_timer_never_fires_before_its_deadline() {
        let c = Clock::start();
        let mut t = DeadlineTimer::new().unwrap();
        for ms in [0u64, 3, 7] {
            let deadline = c.now() + Duration::from_millis(ms);
            t.wait_until(&c, deadline).await.unwrap();
            assert!(
                c.now() >= deadline,
                "fired at {} before {deadline}",
                c.now()
            );
        }
        // A deadline in the past fires at once.
        t.wait_until(&c, vrrp_core::Instant::ZERO).await.unwrap();
    }
}
