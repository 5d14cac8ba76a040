//! The sans-IO state of one health-checked target: attempt results in, "retry after d" or the
//! check's verdict out, with keepalived's `retry` / `delay_before_retry`, rise/fall hysteresis
//! and `alpha`. Reads no clock: the caller sleeps the durations it is given.

use std::time::Duration;

use crate::config::lvs::Check;
use crate::health::track::RiseFall;

/// What the caller does after recording an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next {
    /// The attempt failed and retries remain: probe again after this delay (keepalived
    /// `delay_before_retry`), as part of the same check.
    Retry(Duration),
    /// The check is over: it succeeded or every attempt failed. `change` is `Some(up)` when the
    /// target's state flipped; the next check starts at the next `interval` tick.
    Done {
        /// The check's result (not yet the target's state: rise/fall apply).
        success: bool,
        /// The new state of the target when it changed.
        change: Option<bool>,
    },
}

/// One target's check state.
#[derive(Clone, Debug)]
pub struct Checker {
    retries: u32,
    retry_delay: Duration,
    rise_fall: RiseFall,
    /// `alpha` and no success seen yet: the first success brings the target up at once.
    awaiting_first_success: bool,
    /// Failed attempts of the check in progress.
    failed_attempts: u32,
    checks: u64,
    failures: u64,
    detail: String,
}

impl Checker {
    /// A target before its first check: down with `alpha` (keepalived: "the server is assumed
    /// down until the first successful check"), up otherwise.
    pub fn new(check: &Check) -> Self {
        Checker {
            retries: check.retries,
            retry_delay: check.retry_delay.get(),
            rise_fall: RiseFall::new(check.rise, check.fall, !check.alpha),
            awaiting_first_success: check.alpha,
            failed_attempts: 0,
            checks: 0,
            failures: 0,
            detail: if check.alpha {
                "not checked yet (alpha: down until the first success)".into()
            } else {
                "not checked yet".into()
            },
        }
    }

    /// The target's current state.
    pub fn is_up(&self) -> bool {
        self.rise_fall.is_up()
    }

    /// Completed checks (a check = the attempts up to a success or the last retry).
    pub fn checks(&self) -> u64 {
        self.checks
    }

    /// Completed checks that failed.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// The detail of the last completed check ("ok", "connect ...: connection refused", ...).
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// Records one attempt: `Ok(detail)` on success, `Err(detail)` on failure.
    /// A check fails only when `1 + retries` attempts in a row failed (keepalived `retry`).
    pub fn record(&mut self, attempt: Result<String, String>) -> Next {
        let (success, detail) = match attempt {
            Ok(d) => (true, d),
            Err(d) => {
                self.failed_attempts += 1;
                if self.failed_attempts <= self.retries {
                    return Next::Retry(self.retry_delay);
                }
                let d = if self.failed_attempts > 1 {
                    format!("{d} ({} attempts)", self.failed_attempts)
                } else {
                    d
                };
                (false, d)
            }
        };
        self.failed_attempts = 0;
        self.checks += 1;
        if !success {
            self.failures += 1;
        }
        self.detail = detail;
        let change = if success && self.awaiting_first_success {
            // alpha: the first success is enough, whatever `rise` says.
            self.awaiting_first_success = false;
            let was_up = self.rise_fall.is_up();
            self.rise_fall = RiseFall::new(self.rise_fall.rise(), self.rise_fall.fall(), true);
            (!was_up).then_some(true)
        } else {
            self.rise_fall.record(success)
        };
        Next::Done { success, change }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigDuration;
    use crate::config::lvs::CheckKind;

    fn check(retries: u32, rise: u32, fall: u32, alpha: bool) -> Check {
        Check {
            kind: CheckKind::Tcp {
                connect_ip: None,
                connect_port: None,
            },
            interval: ConfigDuration::from_secs(5),
            timeout: ConfigDuration::from_secs(2),
            retries,
            retry_delay: ConfigDuration::from_millis(700),
            rise,
            fall,
            alpha,
        }
    }

    fn ok() -> Result<String, String> {
        Ok("ok".into())
    }

    fn bad() -> Result<String, String> {
        Err("connection refused".into())
    }

    fn done(success: bool, change: Option<bool>) -> Next {
        Next::Done { success, change }
    }

    #[test]
    fn without_retries_one_failure_is_a_failed_check() {
        let mut c = Checker::new(&check(0, 1, 1, false));
        assert!(c.is_up());
        assert_eq!(c.record(ok()), done(true, None));
        assert_eq!(c.record(bad()), done(false, Some(false)));
        assert!(!c.is_up());
        assert_eq!(c.detail(), "connection refused");
        assert_eq!(c.record(bad()), done(false, None));
        assert_eq!(c.record(ok()), done(true, Some(true)));
        assert_eq!((c.checks(), c.failures()), (4, 2));
    }

    #[test]
    fn a_check_fails_only_when_all_1_plus_retries_attempts_fail() {
        let mut c = Checker::new(&check(2, 1, 1, false));
        let retry = Next::Retry(Duration::from_millis(700));
        assert_eq!(c.record(bad()), retry);
        assert_eq!(c.record(bad()), retry);
        assert_eq!(c.record(ok()), done(true, None), "success within retries");
        assert!(c.is_up());
        assert_eq!(c.record(bad()), retry);
        assert_eq!(c.record(bad()), retry);
        assert_eq!(c.record(bad()), done(false, Some(false)));
        assert_eq!(c.detail(), "connection refused (3 attempts)");
        // A new check starts with a fresh attempt count.
        assert_eq!(c.record(bad()), retry);
        assert_eq!((c.checks(), c.failures()), (2, 1));
    }

    #[test]
    fn fall_and_rise_count_checks_not_attempts() {
        let mut c = Checker::new(&check(1, 2, 3, false));
        let retry = Next::Retry(Duration::from_millis(700));
        for _ in 0..2 {
            assert_eq!(c.record(bad()), retry);
            assert_eq!(c.record(bad()), done(false, None));
        }
        assert!(c.is_up());
        assert_eq!(c.record(bad()), retry);
        assert_eq!(c.record(bad()), done(false, Some(false)));
        assert_eq!(c.record(ok()), done(true, None));
        assert_eq!(c.record(bad()), retry);
        assert_eq!(c.record(ok()), done(true, Some(true)), "rise=2 reached");
    }

    #[test]
    fn alpha_starts_down_and_the_first_success_brings_it_up_whatever_rise_says() {
        let mut c = Checker::new(&check(0, 3, 2, true));
        assert!(!c.is_up());
        assert_eq!(c.record(bad()), done(false, None));
        assert_eq!(c.record(ok()), done(true, Some(true)));
        // From then on, fall and rise apply.
        assert_eq!(c.record(bad()), done(false, None));
        assert_eq!(c.record(bad()), done(false, Some(false)));
        assert_eq!(c.record(ok()), done(true, None));
        assert_eq!(c.record(ok()), done(true, None));
        assert_eq!(c.record(ok()), done(true, Some(true)));
    }

    #[test]
    fn without_alpha_a_server_starts_up_and_rise_applies_only_after_a_fall() {
        let mut c = Checker::new(&check(0, 3, 1, false));
        assert_eq!(c.record(ok()), done(true, None));
        assert!(c.is_up());
    }
}
