//! The health-check [`Monitor`]: one tokio task per checked real server, probing every
//! `interval` (keepalived `delay_loop`) from a deterministic per-target offset spread over the
//! first interval, and reporting verdict changes on a channel. Reload keeps the state of
//! targets whose key and check did not change.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use super::checker::{Checker, Next};
use super::probe::Prober;
use crate::config::lvs::Check;
use crate::health::script::RunAs;

/// Identifies a checked real server: its virtual server's name and its address and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetKey {
    /// Name of the virtual server.
    pub vs: String,
    /// Real server address.
    pub addr: IpAddr,
    /// Real server port.
    pub port: u16,
}

/// A real server to check.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Its identity.
    pub key: TargetKey,
    /// Address probed (before the check's `connect_ip`).
    pub addr: IpAddr,
    /// Port probed (before the check's `connect_port`).
    pub port: u16,
    /// The check.
    pub check: Check,
    /// User of a script check.
    pub run_as: Option<RunAs>,
}

/// A change of a target's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthChange {
    /// Which target.
    pub key: TargetKey,
    /// Its new state.
    pub up: bool,
    /// Why ("status 200", "connect 10.0.0.1:80: connection refused", ...).
    pub detail: String,
}

/// A target's state, for status output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetState {
    /// Healthy.
    pub up: bool,
    /// Detail of the last completed check.
    pub detail: String,
    /// Completed checks.
    pub checks: u64,
    /// Completed checks that failed.
    pub failures: u64,
    /// Time since the state last changed (or since the target was started).
    pub since_change: Duration,
}

#[derive(Debug)]
struct Shared {
    /// Which spawn owns the entry: a stopped task that is still finishing an attempt (abort
    /// takes effect at its next await) must not touch its successor's state or report.
    generation: u64,
    up: bool,
    detail: String,
    checks: u64,
    failures: u64,
    last_change: Instant,
}

type StateMap = Arc<Mutex<HashMap<TargetKey, Shared>>>;

struct Task {
    target: Target,
    handle: JoinHandle<()>,
}

/// The running health checks.
pub struct Monitor {
    tasks: HashMap<TargetKey, Task>,
    state: StateMap,
    tx: UnboundedSender<HealthChange>,
    generation: u64,
}

impl Monitor {
    /// Starts one task per target (must run inside a tokio runtime). Targets whose probe cannot
    /// be prepared (a malformed digest, ...) are reported down at once and not probed.
    pub fn start(targets: Vec<Target>, tx: UnboundedSender<HealthChange>) -> Monitor {
        let mut m = Monitor {
            tasks: HashMap::new(),
            state: Arc::new(Mutex::new(HashMap::new())),
            tx,
            generation: 0,
        };
        for t in targets {
            m.spawn(t);
        }
        m
    }

    /// Applies a new target list: unchanged targets (same key, address, port, check and user)
    /// keep their task and state, removed ones are stopped, new or changed ones start afresh.
    pub fn reload(&mut self, targets: Vec<Target>) {
        let mut wanted: HashMap<TargetKey, Target> =
            targets.into_iter().map(|t| (t.key.clone(), t)).collect();
        let keys: Vec<TargetKey> = self.tasks.keys().cloned().collect();
        for key in keys {
            let keep = wanted
                .get(&key)
                .is_some_and(|t| *t == self.tasks[&key].target);
            if keep {
                wanted.remove(&key);
            } else {
                self.stop(&key);
            }
        }
        for (_, t) in wanted {
            self.spawn(t);
        }
    }

    /// The target's state; unknown targets (no check) are up.
    pub fn is_up(&self, key: &TargetKey) -> bool {
        self.lock().get(key).is_none_or(|s| s.up)
    }

    /// Every target's state, sorted by key.
    pub fn states(&self) -> Vec<(TargetKey, TargetState)> {
        let now = Instant::now();
        let mut v: Vec<_> = self
            .lock()
            .iter()
            .map(|(k, s)| {
                (
                    k.clone(),
                    TargetState {
                        up: s.up,
                        detail: s.detail.clone(),
                        checks: s.checks,
                        failures: s.failures,
                        since_change: now.saturating_duration_since(s.last_change),
                    },
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Number of running targets.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// No targets.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Stops every task.
    pub fn shutdown(&mut self) {
        for (_, t) in self.tasks.drain() {
            t.handle.abort();
        }
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TargetKey, Shared>> {
        // A panicking task cannot leave the map inconsistent (single-field updates).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn stop(&mut self, key: &TargetKey) {
        if let Some(t) = self.tasks.remove(key) {
            t.handle.abort();
        }
        self.lock().remove(key);
    }

    fn spawn(&mut self, target: Target) {
        let key = target.key.clone();
        let checker = Checker::new(&target.check);
        let prober = Prober::new(target.addr, target.port, &target.check, target.run_as);
        self.generation += 1;
        let generation = self.generation;
        let mut shared = Shared {
            generation,
            up: checker.is_up(),
            detail: checker.detail().to_string(),
            checks: 0,
            failures: 0,
            last_change: Instant::now(),
        };
        let handle = match prober {
            Ok(prober) => {
                let offset = start_offset(&key, target.check.interval.get());
                tokio::spawn(run(
                    key.clone(),
                    generation,
                    checker,
                    prober,
                    target.check.interval.get(),
                    offset,
                    self.state.clone(),
                    self.tx.clone(),
                ))
            }
            Err(e) => {
                log::error!(
                    "lvs: {} {}:{}: cannot check: {e}",
                    key.vs,
                    key.addr,
                    key.port
                );
                if shared.up {
                    let _ = self.tx.send(HealthChange {
                        key: key.clone(),
                        up: false,
                        detail: e.clone(),
                    });
                }
                shared.up = false;
                shared.detail = e;
                tokio::spawn(async {})
            }
        };
        self.lock().insert(key.clone(), shared);
        self.tasks.insert(key, Task { target, handle });
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Where in the first interval a target's checks start: a hash of its key (FNV-1a, stable
/// across runs and builds), so that many targets do not probe at the same instant.
pub fn start_offset(key: &TargetKey, interval: Duration) -> Duration {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(key.vs.as_bytes());
    eat(&[0]);
    match key.addr {
        IpAddr::V4(a) => eat(&a.octets()),
        IpAddr::V6(a) => eat(&a.octets()),
    }
    eat(&key.port.to_be_bytes());
    let ns = interval.as_nanos().max(1);
    Duration::from_nanos((u128::from(h) % ns) as u64)
}

#[allow(clippy::too_many_arguments)]
async fn run(
    key: TargetKey,
    generation: u64,
    mut checker: Checker,
    prober: Prober,
    interval: Duration,
    offset: Duration,
    state: StateMap,
    tx: UnboundedSender<HealthChange>,
) {
    let mut ticks = tokio::time::interval_at(
        tokio::time::Instant::now() + offset,
        interval.max(Duration::from_millis(1)),
    );
    // A check longer than the interval (retries) delays the next one instead of bunching.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let change = loop {
            match checker.record(prober.attempt().await) {
                Next::Retry(d) => tokio::time::sleep(d).await,
                Next::Done { change, .. } => break change,
            }
        };
        {
            let mut map = state.lock().unwrap_or_else(|e| e.into_inner());
            let Some(s) = map.get_mut(&key).filter(|s| s.generation == generation) else {
                return; // stopped by reload or shutdown
            };
            s.up = checker.is_up();
            s.detail.clear();
            s.detail.push_str(checker.detail());
            s.checks = checker.checks();
            s.failures = checker.failures();
            if change.is_some() {
                s.last_change = Instant::now();
            }
            // Sent under the lock, so a stopped target reports nothing after reload returns.
            if let Some(up) = change {
                log::info!(
                    "lvs: {} {}:{} is {} ({})",
                    key.vs,
                    key.addr,
                    key.port,
                    if up { "up" } else { "down" },
                    checker.detail()
                );
                let _ = tx.send(HealthChange {
                    key: key.clone(),
                    up,
                    detail: checker.detail().to_string(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_offsets_are_stable_and_spread_over_the_interval() {
        let i = Duration::from_secs(1);
        let key = |n: u16| TargetKey {
            vs: "web".into(),
            addr: "192.0.2.1".parse().unwrap(),
            port: n,
        };
        assert_eq!(start_offset(&key(80), i), start_offset(&key(80), i));
        let mut buckets = [0u32; 10];
        for p in 0..1000 {
            let o = start_offset(&key(p), i);
            assert!(o < i);
            buckets[(o.as_millis() / 100) as usize] += 1;
        }
        // 1000 keys over 10 buckets: each within a wide margin of 100.
        assert!(
            buckets.iter().all(|&b| (50..150).contains(&b)),
            "{buckets:?}"
        );
    }
}
