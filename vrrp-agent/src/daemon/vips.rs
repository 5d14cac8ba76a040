//! The VIP worker: adds and removes each instance's virtual addresses by rtnetlink, off the event
//! loop, converging on the latest wanted state rather than replaying every change.
//!
//! Why latest-state: an instance that flaps (a peer that is starved of CPU, a partition that
//! comes and goes) asks for add, remove, add, ... faster than netlink applies them (~7 ms a
//! change here). A queue of every change grows without bound — 1.4 GB in one overloaded run —
//! and applies states long obsolete. Here each instance has one slot holding what it wants now;
//! the worker takes instances in the order they first asked and applies only the newest wish,
//! and nothing at all when that equals what it last applied. Memory is bounded by the number of
//! instances.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, oneshot};

use crate::config;
use crate::io::netlink::{Netlink, VipSpec};

/// What an instance wants: its VIPs (with the device each goes on) present or absent.
#[derive(Clone, Debug, PartialEq)]
pub struct Wish {
    pub add: bool,
    pub vips: Vec<(String, config::VirtualAddress)>,
}

#[derive(Default)]
struct Pending {
    /// Newest wish per instance not yet taken by the worker.
    wishes: HashMap<String, Wish>,
    /// Instances with a wish, in the order they first asked.
    order: VecDeque<String>,
    /// Callers of [`VipWorker::flush`] waiting for the queue to drain.
    flushes: Vec<oneshot::Sender<()>>,
}

/// Handle of the worker task (the event loop's side).
#[derive(Clone)]
pub struct VipWorker {
    pending: Arc<Mutex<Pending>>,
    wake: Arc<Notify>,
}

impl VipWorker {
    /// Starts the worker task on the current tokio runtime.
    pub fn spawn(nl: Netlink) -> VipWorker {
        let w = VipWorker::new();
        let worker = w.clone();
        tokio::spawn(async move { worker.work(nl).await });
        w
    }

    fn new() -> VipWorker {
        VipWorker {
            pending: Arc::default(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Records what `instance` wants now, replacing any wish the worker has not taken yet.
    pub fn set(&self, instance: &str, wish: Wish) {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        if p.wishes.insert(instance.to_owned(), wish).is_none() {
            p.order.push_back(instance.to_owned());
        }
        drop(p);
        self.wake.notify_one();
    }

    /// Waits until every wish recorded so far has been applied.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .flushes
            .push(tx);
        self.wake.notify_one();
        let _ = rx.await;
    }

    /// The next instance and its newest wish, or the flush waiters to answer when none is left.
    fn take(&self) -> Result<(String, Wish), Vec<oneshot::Sender<()>>> {
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(name) = p.order.pop_front() {
            if let Some(w) = p.wishes.remove(&name) {
                return Ok((name, w));
            }
        }
        Err(std::mem::take(&mut p.flushes))
    }

    async fn work(self, nl: Netlink) {
        let mut applied: HashMap<String, Wish> = HashMap::new();
        loop {
            match self.take() {
                Ok((instance, wish)) => {
                    // A failed change is not remembered, so the same wish later tries again.
                    if applied.get(&instance) != Some(&wish) {
                        if apply(&nl, &instance, &wish).await {
                            applied.insert(instance, wish);
                        } else {
                            applied.remove(&instance);
                        }
                    }
                }
                Err(flushes) => {
                    for f in flushes {
                        let _ = f.send(());
                    }
                    self.wake.notified().await;
                }
            }
        }
    }
}

/// Applies one wish; false if any address could not be changed (each failure is logged).
async fn apply(nl: &Netlink, instance: &str, wish: &Wish) -> bool {
    let mut ok = true;
    for (dev, v) in &wish.vips {
        let index = match nl.link_by_name(dev).await {
            Ok(l) => l.ifindex,
            Err(e) => {
                tracing::error!(%instance, device = %dev, error = %e, "VIP device");
                ok = false;
                continue;
            }
        };
        let res = if wish.add {
            let spec = VipSpec {
                addr: v.address,
                prefix_len: v.prefix,
                label: v.label.clone(),
                no_prefix_route: false,
            };
            nl.add_vip(index, &spec).await
        } else {
            nl.del_vip(index, v.address, v.prefix).await
        };
        if let Err(e) = res {
            tracing::error!(%instance, vip = %v, error = %e, add = wish.add, "VIP");
            ok = false;
        }
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wish(add: bool) -> Wish {
        Wish {
            add,
            vips: Vec::new(),
        }
    }

    #[test]
    fn only_the_newest_wish_of_an_instance_is_taken_in_first_asked_order() {
        let w = VipWorker::new();
        for i in 0..1000 {
            w.set("a", wish(i % 2 == 0));
        }
        w.set("b", wish(true));
        w.set("a", wish(false));
        assert_eq!(w.take().ok(), Some(("a".to_owned(), wish(false))));
        assert_eq!(w.take().ok(), Some(("b".to_owned(), wish(true))));
        assert!(w.take().is_err());
        // Asking again after being taken queues the instance anew, at the back.
        w.set("b", wish(false));
        w.set("a", wish(true));
        assert_eq!(w.take().ok(), Some(("b".to_owned(), wish(false))));
        assert_eq!(w.take().ok(), Some(("a".to_owned(), wish(true))));
    }

    #[test]
    fn a_flush_is_answered_once_the_queue_is_empty() {
        let w = VipWorker::new();
        w.set("a", wish(true));
        let (tx, mut rx) = oneshot::channel();
        w.pending.lock().unwrap().flushes.push(tx);
        assert!(w.take().is_ok());
        let waiters = w.take().err().unwrap();
        assert_eq!(waiters.len(), 1);
        for f in waiters {
            f.send(()).unwrap();
        }
        assert!(rx.try_recv().is_ok());
    }
}
