//! The IPVS worker: a dedicated std thread that owns the blocking `vrrp_ipvs::Client` and keeps
//! the kernel's IPVS table equal to the latest desired table (keepalived.conf(5)
//! `virtual_server` / `real_server`), off the tokio loop that sends 10 ms VRRP adverts
//! (RFC 5798 §6.4: adverts must not wait on a 10,000-destination netlink dump).
//!
//! Behaviour:
//! - `set_desired` never blocks on the kernel: it swaps the wish in under a short lock. The
//!   latest wish wins; wishes that arrive while a pass runs are coalesced (memory is bounded to
//!   one pending table).
//! - A pass reads the managed part of the kernel table (`plan::read_current`), plans the minimal
//!   edits (`plan::plan`: never a flush, never delete + re-add of something editable, foreign
//!   services untouched) and applies them, then reads back to decide `in_sync`.
//! - Every `resync_interval` a pass runs anyway to repair drift (an operator's `ipvsadm -d`);
//!   the ops it applies are counted as `repairs`, like keepalived's periodic checker re-sync.
//! - Failures (no ip_vs, a refused op) are recorded with the operation and its object and the
//!   pass is retried with exponential backoff from `retry_min` up to `resync_interval`.
//! - Until the first `set_desired` nothing is changed: a restarted agent must not delete the
//!   services it owned (marker `ServiceFlags::OWNED`) before its configuration is loaded.
//! - The thread talks to the network namespace of the thread that called `spawn`.

use std::collections::HashSet;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use vrrp_ipvs::plan::{self, Table};
use vrrp_ipvs::{Client, Forwarding, Op, ServiceKey, TunnelKind};

/// Timing knobs of the worker.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Period of the drift-repairing resync pass (default 30 s).
    pub resync_interval: Duration,
    /// First retry delay after a failure; doubles up to `resync_interval` (default 1 s).
    pub retry_min: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            resync_interval: Duration::from_secs(30),
            retry_min: Duration::from_secs(1),
        }
    }
}

/// What the worker last saw and did; part of the daemon's status JSON.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Snapshot {
    /// The kernel table as last read back (foreign services without their destinations).
    #[serde(serialize_with = "ser_table")]
    pub services: Table,
    /// The error of the last pass (operation and object), `None` when it was clean.
    pub last_error: Option<String>,
    /// The last pass left the managed part of the kernel equal to the desired table.
    pub in_sync: bool,
    /// Operations the kernel accepted, in total.
    pub ops_applied: u64,
    /// Failed operations, reads and socket opens, in total.
    pub failures: u64,
    /// Operations applied by periodic resyncs (drift repaired).
    pub repairs: u64,
    /// Periodic resync passes run.
    pub resyncs: u64,
    /// Passes run (any reason).
    pub passes: u64,
    /// Generation of the desired table the last pass worked on (0 = none yet).
    pub generation: u64,
    /// Duration of the last pass (read, plan, apply, read back), microseconds.
    pub last_reconcile_us: u64,
    /// The kernel has IPVS and the netlink socket is open.
    pub available: bool,
}

#[derive(Default)]
struct State {
    /// The newest wish not yet taken by the worker.
    pending: Option<(u64, Table)>,
    /// Last generation handed out.
    last_gen: u64,
    /// Stop request: `Some(remove)`.
    stop: Option<bool>,
    /// The thread has finished (after removing, if asked).
    exited: bool,
    snapshot: Snapshot,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the worker (new wish, stop).
    wake: Condvar,
    /// Wakes waiters (a pass finished, the thread exited).
    done: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain data behind: keep going.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Handle to the IPVS worker thread. Dropping it stops the thread without removing services.
pub struct IpvsWorker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for IpvsWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IpvsWorker").finish_non_exhaustive()
    }
}

/// How long `Drop` waits for the thread to finish its pass and exit.
const DROP_WAIT: Duration = Duration::from_secs(5);

impl IpvsWorker {
    /// Starts the worker with the default options.
    pub fn spawn() -> IpvsWorker {
        Self::spawn_with(Options::default())
    }

    /// Starts the worker. It opens the IPVS client itself; if that fails (no ip_vs) it keeps
    /// retrying with backoff and reports the error in its snapshot.
    pub fn spawn_with(opts: Options) -> IpvsWorker {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            done: Condvar::new(),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ipvs".into())
            .spawn(move || {
                let mut w = Worker::new(s.clone(), opts);
                let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| w.run()));
                if let Err(p) = caught {
                    let why = p
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_string())
                        .or_else(|| p.downcast_ref::<String>().cloned())
                        .unwrap_or_default();
                    tracing::error!("ipvs worker panicked: {why}");
                    s.lock().snapshot.last_error = Some(format!("worker panicked: {why}"));
                }
                s.lock().exited = true;
                s.done.notify_all();
            })
            .expect("spawn the ipvs worker thread");
        IpvsWorker {
            shared,
            thread: Some(thread),
        }
    }

    /// Hands the worker a new desired table; returns its generation. The latest wish wins.
    pub fn set_desired(&self, table: Table) -> u64 {
        let mut st = self.shared.lock();
        st.last_gen += 1;
        let gen_ = st.last_gen;
        st.pending = Some((gen_, table));
        drop(st);
        self.shared.wake.notify_all();
        gen_
    }

    /// A copy of what the worker last saw and did.
    pub fn snapshot(&self) -> Snapshot {
        self.shared.lock().snapshot.clone()
    }

    /// Generation `gen_` (or a newer one) has been applied and the kernel read back in sync.
    pub fn settled(&self, gen_: u64) -> bool {
        is_settled(&self.shared.lock(), gen_)
    }

    /// Blocks until `settled(gen_)` or `timeout`; returns whether it settled. From async code,
    /// call it in `spawn_blocking` or poll `settled`.
    pub fn wait_settled(&self, gen_: u64, timeout: Duration) -> bool {
        self.wait_until(timeout, |st| is_settled(st, gen_))
    }

    /// Blocks until a pass finishes after this call (or `timeout`); returns whether one did.
    pub fn wait_pass(&self, timeout: Duration) -> bool {
        let start = self.shared.lock().snapshot.passes;
        self.wait_until(timeout, |st| st.snapshot.passes != start)
    }

    /// Blocks until `done(state)` holds (true), the thread exits or `timeout` passes (false).
    fn wait_until(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        loop {
            if done(&st) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || st.exited {
                return false;
            }
            st = self
                .shared
                .done
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    /// Stops the worker. `remove`: first delete every service it owns (by marker), as
    /// keepalived does on shutdown unless told to keep them; otherwise leave them for the next
    /// agent to adopt. Waits at most `timeout` (a pass in progress finishes first); returns
    /// whether the thread finished in time.
    pub fn shutdown(mut self, remove: bool, timeout: Duration) -> bool {
        self.stop(remove, timeout)
    }

    fn stop(&mut self, remove: bool, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut st = self.shared.lock();
        if st.stop.is_none() {
            st.stop = Some(remove);
        }
        self.shared.wake.notify_all();
        while !st.exited {
            let now = Instant::now();
            if now >= deadline {
                // Leave the thread detached: it exits when its netlink call returns.
                self.thread = None;
                return false;
            }
            st = self
                .shared
                .done
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        drop(st);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        true
    }
}

impl Drop for IpvsWorker {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop(false, DROP_WAIT);
        }
    }
}

fn is_settled(st: &State, gen_: u64) -> bool {
    st.snapshot.generation >= gen_ && st.snapshot.in_sync
}

/// Why a pass runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Reason {
    /// A new desired table.
    Change,
    /// The resync timer, after a clean pass: counts as a resync, its ops as repairs.
    Resync,
    /// The backoff timer after a failure.
    Retry,
}

/// The thread's own state (no lock needed).
struct Worker {
    shared: Arc<Shared>,
    opts: Options,
    client: Option<Client>,
    /// (generation, table) of the desired table; `None` until the first wish.
    desired: Option<(u64, Table)>,
    /// Current retry delay after a failure; `None` while clean.
    backoff: Option<Duration>,
    next_at: Instant,
}

impl Worker {
    fn new(shared: Arc<Shared>, opts: Options) -> Worker {
        Worker {
            shared,
            opts,
            client: None,
            desired: None,
            backoff: None,
            next_at: Instant::now(),
        }
    }

    fn run(&mut self) {
        // First pass at once: open the client, read the table for the snapshot.
        let mut reason = Reason::Retry;
        loop {
            self.pass(reason);
            let mut st = self.shared.lock();
            reason = loop {
                if let Some(remove) = st.stop {
                    drop(st);
                    if remove {
                        self.remove_owned();
                    }
                    return;
                }
                if let Some(p) = st.pending.take() {
                    self.desired = Some(p);
                    break Reason::Change;
                }
                let now = Instant::now();
                if now >= self.next_at {
                    break if self.backoff.is_some() {
                        Reason::Retry
                    } else {
                        Reason::Resync
                    };
                }
                st = self
                    .shared
                    .wake
                    .wait_timeout(st, self.next_at - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            };
        }
    }

    /// Opens the client if needed; records the error otherwise.
    fn client(&mut self) -> Result<&mut Client, String> {
        if self.client.is_none() {
            self.client = Some(Client::new().map_err(|e| e.to_string())?);
        }
        Ok(self.client.as_mut().expect("just opened"))
    }

    fn pass(&mut self, reason: Reason) {
        let started = Instant::now();
        let mut applied = 0u64;
        let mut failed = 0u64;
        let generation = self.desired.as_ref().map_or(0, |d| d.0);
        let desired = self.desired.as_ref().map(|d| d.1.clone());
        let outcome = self
            .client()
            .and_then(|c| reconcile_once(c, desired.as_deref(), &mut applied, &mut failed));
        let (table, in_sync, error) = match outcome {
            Ok((read_back, sync, err)) => (Some(read_back), sync, err),
            Err(e) => {
                failed += 1;
                // A socket or read failure: open a fresh socket next time.
                self.client = None;
                (None, false, Some(e))
            }
        };
        let available = self.client.is_some();
        let clean = error.is_none() && (in_sync || desired.is_none());
        if clean {
            self.backoff = None;
            self.next_at = Instant::now() + self.opts.resync_interval;
        } else {
            let b = self
                .backoff
                .map_or(self.opts.retry_min, |b| b * 2)
                .min(self.opts.resync_interval)
                .max(Duration::from_millis(1));
            self.backoff = Some(b);
            self.next_at = Instant::now() + b;
            if let Some(e) = &error {
                tracing::warn!("ipvs: {e} (retry in {b:?})");
            } else {
                tracing::warn!("ipvs: kernel table not in sync after a pass (retry in {b:?})");
            }
        }
        let mut st = self.shared.lock();
        let snap = &mut st.snapshot;
        if let Some(t) = table {
            snap.services = t;
        }
        snap.last_error = error;
        snap.in_sync = in_sync && desired.is_some();
        snap.ops_applied += applied;
        snap.failures += failed;
        if reason == Reason::Resync {
            snap.resyncs += 1;
            snap.repairs += applied;
            if applied > 0 {
                tracing::info!("ipvs: resync repaired {applied} operations of drift");
            }
        }
        snap.passes += 1;
        snap.generation = generation;
        snap.last_reconcile_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        snap.available = available;
        drop(st);
        self.shared.done.notify_all();
    }

    /// Deletes every service marked as ours, for `shutdown(remove = true)`.
    fn remove_owned(&mut self) {
        let result = self.client().and_then(|c| {
            let services = c.list_services().map_err(|e| e.to_string())?;
            let owned = plan::owned_by_marker(services.iter().map(|s| &s.service));
            let ops: Vec<Op> = owned.into_iter().map(Op::DelService).collect();
            let report = plan::apply(c, &ops);
            Ok((ops.len(), report))
        });
        let mut st = self.shared.lock();
        match result {
            Ok((n, report)) => {
                let failed = report.failures.len();
                st.snapshot.ops_applied += (n - failed) as u64;
                st.snapshot.failures += failed as u64;
                st.snapshot.last_error = report.failures.first().map(|(_, e)| e.to_string());
                tracing::info!("ipvs: removed {} of {n} owned services", n - failed);
            }
            Err(e) => {
                st.snapshot.failures += 1;
                tracing::warn!("ipvs: removing owned services: {e}");
                st.snapshot.last_error = Some(e);
            }
        }
    }
}

/// Read, plan, apply, read back. With no desired table: only read. Returns (table read back,
/// in sync, error of a failed op) or the error of a failed read.
fn reconcile_once(
    c: &mut Client,
    desired: Option<&[(vrrp_ipvs::Service, Vec<vrrp_ipvs::Dest>)]>,
    applied: &mut u64,
    failed: &mut u64,
) -> Result<(Table, bool, Option<String>), String> {
    let none = HashSet::<ServiceKey>::new();
    let want = desired.unwrap_or(&[]);
    let (current, owned) = plan::read_current(c, want, &none).map_err(|e| e.to_string())?;
    let Some(want) = desired else {
        return Ok((current, false, None));
    };
    let ops = plan::plan(want, &current, &owned);
    if ops.is_empty() {
        return Ok((current, true, None));
    }
    let report = plan::apply(c, &ops);
    let nfail = report.failures.len();
    *applied += (ops.len() - nfail) as u64;
    *failed += nfail as u64;
    let error = report.failures.first().map(|(_, e)| {
        if nfail == 1 {
            e.to_string()
        } else {
            format!("{e} (and {} more failed operations)", nfail - 1)
        }
    });
    let (after, owned) = plan::read_current(c, want, &none).map_err(|e| e.to_string())?;
    let in_sync = plan::plan(want, &after, &owned).is_empty();
    Ok((after, in_sync, error))
}

// ---- JSON rendering of a Table (vrrp-ipvs has no serde): services by their ipvsadm-like names.

#[derive(Serialize)]
struct JsonService<'a> {
    key: String,
    scheduler: &'a str,
    flags: u32,
    owned: bool,
    timeout: u32,
    netmask_prefix: u8,
    dests: Vec<JsonDest>,
}

#[derive(Serialize)]
struct JsonDest {
    addr: std::net::IpAddr,
    port: u16,
    forwarding: String,
    weight: u32,
    upper_threshold: u32,
    lower_threshold: u32,
}

fn forwarding_name(f: Forwarding) -> String {
    match f {
        Forwarding::Masq => "masq".into(),
        Forwarding::Local => "local".into(),
        Forwarding::Route => "route".into(),
        Forwarding::Tunnel(TunnelKind::Ipip) => "tunnel ipip".into(),
        Forwarding::Tunnel(TunnelKind::Gue { port, flags }) => {
            format!("tunnel gue port {port} flags {flags}")
        }
        Forwarding::Tunnel(TunnelKind::Gre { flags }) => format!("tunnel gre flags {flags}"),
    }
}

fn ser_table<S: serde::Serializer>(table: &Table, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(table.iter().map(|(svc, dests)| {
        JsonService {
            key: svc.key.to_string(),
            scheduler: &svc.scheduler,
            flags: svc.flags.0,
            owned: svc.flags.contains(vrrp_ipvs::ServiceFlags::OWNED),
            timeout: svc.timeout,
            netmask_prefix: svc.netmask_prefix,
            dests: dests
                .iter()
                .map(|d| JsonDest {
                    addr: d.addr,
                    port: d.port,
                    forwarding: forwarding_name(d.forwarding),
                    weight: d.weight,
                    upper_threshold: d.upper_threshold,
                    lower_threshold: d.lower_threshold,
                })
                .collect(),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vrrp_ipvs::{Dest, Proto, Service};

    #[test]
    fn snapshot_serializes_services_by_name() {
        let key = ServiceKey::Proto {
            proto: Proto::Tcp,
            addr: "198.51.100.1".parse().unwrap(),
            port: 80,
        };
        let snap = Snapshot {
            services: vec![(
                Service::new(key, "wrr"),
                vec![Dest::new(
                    "192.0.2.10".parse().unwrap(),
                    80,
                    Forwarding::Masq,
                )],
            )],
            ..Snapshot::default()
        };
        let v = serde_json::to_value(&snap).unwrap();
        assert_eq!(v["services"][0]["key"], "TCP 198.51.100.1:80");
        assert_eq!(v["services"][0]["dests"][0]["forwarding"], "masq");
        assert_eq!(v["services"][0]["dests"][0]["addr"], "192.0.2.10");
        assert_eq!(v["in_sync"], false);
    }
}
