//! Reconciliation: a PURE planner from (desired, current, owned) to the operations that turn the
//! kernel's IPVS table into the desired one, and `apply` / `reconcile` that run them.
//!
//! Rules (issue 5):
//! - Never flush and re-add: every change is the smallest edit, so established connections keep
//!   their destination. Every non-key attribute is editable in place in the kernel:
//!   ip_vs_edit_service rebinds the scheduler and rewrites flags/timeout/netmask;
//!   ip_vs_edit_dest -> __ip_vs_update_dest rewrites the forwarding method (conn_flags), weight
//!   and thresholds (existing connections keep the method they were created with). So a
//!   change is always Edit, never Delete + Add.
//! - A service is *managed* when its key is desired or owned. Foreign services (neither) are
//!   never touched, nor are their destinations read.
//! - Owned services absent from desired are deleted (their destinations go with them).
//! - A desired key that already exists unowned is adopted (edited to the desired settings and
//!   marked owned): the configuration claims that virtual server.
//!
//! Ownership across restarts: desired services carry `ServiceFlags::OWNED`, a flag bit ip_vs.h
//! does not define, which the kernel stores and dumps back (see model.rs). `owned_by_marker`
//! recovers the owned set from the kernel itself, so no state file can go stale or be lost.
//! Failure modes: an operator `ipvsadm -E` on one of our services rewrites its flags without the
//! marker, so if it is later removed from the config the agent leaves it behind (safe side:
//! it is then foreign); a future kernel that validates or assigns that bit would refuse or
//! misread it, which the kernel test `ownership_marker_survives_in_the_kernel` detects.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::client::{Client, Error};
use crate::model::{Dest, DestKey, Service, ServiceFlags, ServiceInfo, ServiceKey};

/// One change to the kernel's IPVS table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Op {
    /// IPVS_CMD_NEW_SERVICE.
    AddService(Service),
    /// IPVS_CMD_SET_SERVICE.
    EditService(Service),
    /// IPVS_CMD_DEL_SERVICE (its destinations go with it).
    DelService(ServiceKey),
    /// IPVS_CMD_NEW_DEST.
    AddDest(ServiceKey, Dest),
    /// IPVS_CMD_SET_DEST.
    EditDest(ServiceKey, Dest),
    /// IPVS_CMD_DEL_DEST.
    DelDest(ServiceKey, DestKey),
}

impl fmt::Display for Op {
    /// The operation and its object, as errors name them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::AddService(s) => write!(f, "add service {} (scheduler {})", s.key, s.scheduler),
            Op::EditService(s) => write!(f, "edit service {} (scheduler {})", s.key, s.scheduler),
            Op::DelService(k) => write!(f, "delete service {k}"),
            Op::AddDest(k, d) => write!(f, "add destination {} to {k}", d.key()),
            Op::EditDest(k, d) => write!(f, "edit destination {} of {k}", d.key()),
            Op::DelDest(k, d) => write!(f, "delete destination {d} from {k}"),
        }
    }
}

/// A table of services with their destinations (desired, or as read back).
pub type Table = Vec<(Service, Vec<Dest>)>;

/// The keys marked `ServiceFlags::OWNED` in a service list read from the kernel.
pub fn owned_by_marker<'a>(services: impl IntoIterator<Item = &'a Service>) -> HashSet<ServiceKey> {
    services
        .into_iter()
        .filter(|s| s.flags.contains(ServiceFlags::OWNED))
        .map(|s| s.key)
        .collect()
}

/// Computes the operations that turn `current` into `desired` for managed services (desired or
/// in `owned`), leaving every other service alone. Pure: no I/O.
///
/// Desired services are given `ServiceFlags::OWNED`. Duplicate keys in `desired` (services, or
/// destinations of one service): the first wins. Order: deletions of services, then per desired
/// service (in the given order) its add/edit, then its destination deletions, edits, additions.
pub fn plan(
    desired: &[(Service, Vec<Dest>)],
    current: &[(Service, Vec<Dest>)],
    owned: &HashSet<ServiceKey>,
) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut want: HashMap<ServiceKey, usize> = HashMap::new();
    for (i, (s, _)) in desired.iter().enumerate() {
        want.entry(s.key).or_insert(i);
    }
    let cur: HashMap<ServiceKey, &(Service, Vec<Dest>)> =
        current.iter().map(|e| (e.0.key, e)).collect();

    for (s, _) in current {
        if owned.contains(&s.key) && !want.contains_key(&s.key) {
            ops.push(Op::DelService(s.key));
        }
    }
    for (i, (svc, dests)) in desired.iter().enumerate() {
        if want.get(&svc.key) != Some(&i) {
            continue; // duplicate key: the first one wins
        }
        let mut svc = svc.clone();
        svc.flags = (svc.flags | ServiceFlags::OWNED).without(ServiceFlags::HASHED);
        let mut seen = HashSet::new();
        let dests: Vec<&Dest> = dests.iter().filter(|d| seen.insert(d.key())).collect();
        match cur.get(&svc.key) {
            None => {
                let key = svc.key;
                ops.push(Op::AddService(svc));
                ops.extend(dests.into_iter().map(|d| Op::AddDest(key, d.clone())));
            }
            Some((have, have_dests)) => {
                let key = svc.key;
                if *have != svc {
                    ops.push(Op::EditService(svc));
                }
                let have: HashMap<DestKey, &Dest> =
                    have_dests.iter().map(|d| (d.key(), d)).collect();
                for d in have_dests {
                    if !seen.contains(&d.key()) {
                        ops.push(Op::DelDest(key, d.key()));
                    }
                }
                for d in &dests {
                    if let Some(h) = have.get(&d.key())
                        && *h != *d
                    {
                        ops.push(Op::EditDest(key, (*d).clone()));
                    }
                }
                for d in dests {
                    if !have.contains_key(&d.key()) {
                        ops.push(Op::AddDest(key, d.clone()));
                    }
                }
            }
        }
    }
    ops
}

/// Outcome of `apply`: how many ops ran and which failed.
#[derive(Debug, Default)]
pub struct Report {
    /// Operations attempted.
    pub attempted: usize,
    /// Failed operations with their error (op + object + errno); the others succeeded.
    pub failures: Vec<(Op, Error)>,
}

/// Runs `ops` in order, continuing past failures, and reports each failure.
pub fn apply(client: &mut Client, ops: &[Op]) -> Report {
    let results = client.execute(ops);
    Report {
        attempted: ops.len(),
        failures: ops
            .iter()
            .zip(results)
            .filter_map(|(op, r)| r.err().map(|e| (op.clone(), e)))
            .collect(),
    }
}

/// Reads the managed part of the kernel table: every service, and the destinations of those
/// that are owned (by marker or `extra_owned`) or desired. Foreign services come back with no
/// destinations (never read). Returns (table, owned set).
pub fn read_current(
    client: &mut Client,
    desired: &[(Service, Vec<Dest>)],
    extra_owned: &HashSet<ServiceKey>,
) -> Result<(Table, HashSet<ServiceKey>), Error> {
    let services: Vec<ServiceInfo> = client.list_services()?;
    let mut owned = owned_by_marker(services.iter().map(|s| &s.service));
    owned.extend(extra_owned.iter().copied());
    let want: HashSet<ServiceKey> = desired.iter().map(|(s, _)| s.key).collect();
    let mut table = Vec::with_capacity(services.len());
    for s in services {
        let key = s.service.key;
        let dests = if owned.contains(&key) || want.contains(&key) {
            client
                .list_dests(&key)?
                .into_iter()
                .map(|d| d.dest)
                .collect()
        } else {
            Vec::new()
        };
        table.push((s.service, dests));
    }
    Ok((table, owned))
}

/// Read, plan, apply: one reconciliation pass. `extra_owned` adds keys the caller knows it owns
/// besides those marked in the kernel (normally empty).
pub fn reconcile(
    client: &mut Client,
    desired: &[(Service, Vec<Dest>)],
    extra_owned: &HashSet<ServiceKey>,
) -> Result<Report, Error> {
    let (current, owned) = read_current(client, desired, extra_owned)?;
    let ops = plan(desired, &current, &owned);
    Ok(apply(client, &ops))
}

/// What the kernel does with `op` on `table`, for tests: the same refusals (EEXIST for a
/// duplicate, ESRCH for a missing service, ENOENT for a missing destination) and effects.
pub fn simulate(table: &mut Table, op: &Op) -> Result<(), i32> {
    let find = |t: &Table, k: &ServiceKey| t.iter().position(|(s, _)| s.key == *k);
    match op {
        Op::AddService(s) => {
            if find(table, &s.key).is_some() {
                return Err(libc::EEXIST);
            }
            table.push((s.clone(), Vec::new()));
        }
        Op::EditService(s) => {
            let i = find(table, &s.key).ok_or(libc::ESRCH)?;
            table[i].0 = s.clone();
        }
        Op::DelService(k) => {
            let i = find(table, k).ok_or(libc::ESRCH)?;
            table.remove(i);
        }
        Op::AddDest(k, d) => {
            let i = find(table, k).ok_or(libc::ESRCH)?;
            if table[i].1.iter().any(|x| x.key() == d.key()) {
                return Err(libc::EEXIST);
            }
            table[i].1.push(d.clone());
        }
        Op::EditDest(k, d) => {
            let i = find(table, k).ok_or(libc::ESRCH)?;
            let j = table[i]
                .1
                .iter()
                .position(|x| x.key() == d.key())
                .ok_or(libc::ENOENT)?;
            table[i].1[j] = d.clone();
        }
        Op::DelDest(k, dk) => {
            let i = find(table, k).ok_or(libc::ESRCH)?;
            let j = table[i]
                .1
                .iter()
                .position(|x| x.key() == *dk)
                .ok_or(libc::ENOENT)?;
            table[i].1.remove(j);
        }
    }
    Ok(())
}

/// A table in canonical order (services by key, destinations by key), to compare tables.
pub fn canonical(table: &Table) -> Vec<(Service, Vec<Dest>)> {
    let mut t = table.clone();
    t.sort_by_key(|(s, _)| s.key);
    for (_, d) in &mut t {
        d.sort_by_key(Dest::key);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Family, Forwarding, Proto, TunnelKind};
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn key(port: u16) -> ServiceKey {
        ServiceKey::Proto {
            proto: Proto::Tcp,
            addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
            port,
        }
    }
    fn dest(last: u8, weight: u32) -> Dest {
        Dest {
            weight,
            ..Dest::new(
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
                80,
                Forwarding::Masq,
            )
        }
    }
    fn owned_svc(port: u16, sched: &str) -> Service {
        let mut s = Service::new(key(port), sched);
        s.flags = ServiceFlags::OWNED;
        s
    }

    #[test]
    fn empty_kernel_gets_service_then_its_destinations() {
        let desired = vec![(Service::new(key(80), "wrr"), vec![dest(10, 1), dest(11, 2)])];
        let ops = plan(&desired, &[], &HashSet::new());
        assert_eq!(
            ops,
            vec![
                Op::AddService(owned_svc(80, "wrr")),
                Op::AddDest(key(80), dest(10, 1)),
                Op::AddDest(key(80), dest(11, 2))
            ]
        );
    }

    #[test]
    fn weight_change_is_one_edit_and_nothing_else() {
        let current = vec![(owned_svc(80, "wrr"), vec![dest(10, 1), dest(11, 2)])];
        let desired = vec![(Service::new(key(80), "wrr"), vec![dest(10, 1), dest(11, 5)])];
        let ops = plan(
            &desired,
            &current,
            &owned_by_marker(current.iter().map(|e| &e.0)),
        );
        assert_eq!(ops, vec![Op::EditDest(key(80), dest(11, 5))]);
    }

    #[test]
    fn forwarding_and_scheduler_changes_are_edits_not_delete_and_add() {
        let current = vec![(owned_svc(80, "wrr"), vec![dest(10, 1)])];
        let mut d = dest(10, 1);
        d.forwarding = Forwarding::Tunnel(TunnelKind::Ipip);
        let desired = vec![(Service::new(key(80), "sh"), vec![d.clone()])];
        let ops = plan(&desired, &current, &HashSet::from([key(80)]));
        assert_eq!(
            ops,
            vec![
                Op::EditService(owned_svc(80, "sh")),
                Op::EditDest(key(80), d)
            ]
        );
    }

    #[test]
    fn foreign_service_is_untouched_and_owned_absent_one_deleted() {
        let foreign = (Service::new(key(443), "rr"), vec![dest(20, 1)]);
        let current = vec![foreign, (owned_svc(80, "rr"), vec![dest(10, 1)])];
        let ops = plan(
            &[],
            &current,
            &owned_by_marker(current.iter().map(|e| &e.0)),
        );
        assert_eq!(ops, vec![Op::DelService(key(80))]);
    }

    #[test]
    fn desired_key_held_by_a_foreign_service_is_adopted_by_edit() {
        let current = vec![(Service::new(key(80), "rr"), vec![dest(10, 1), dest(12, 1)])];
        let desired = vec![(Service::new(key(80), "rr"), vec![dest(10, 1)])];
        let ops = plan(&desired, &current, &HashSet::new());
        assert_eq!(
            ops,
            vec![
                Op::EditService(owned_svc(80, "rr")),
                Op::DelDest(key(80), dest(12, 1).key())
            ]
        );
    }

    #[test]
    fn op_display_names_operation_and_object() {
        assert_eq!(
            Op::AddDest(key(80), dest(10, 1)).to_string(),
            "add destination 192.0.2.10:80 to TCP 198.51.100.1:80"
        );
        let fw = ServiceKey::Fwmark {
            mark: 7,
            family: Family::Inet6,
        };
        assert_eq!(Op::DelService(fw).to_string(), "delete service FWM 7 IPv6");
    }

    // ---- property: plan applied to a model of the kernel yields desired; foreign untouched
    fn arb_dest() -> impl Strategy<Value = Dest> {
        (1u8..6, 0u32..4, 0u8..3).prop_map(|(last, w, m)| Dest {
            forwarding: [
                Forwarding::Masq,
                Forwarding::Route,
                Forwarding::Tunnel(TunnelKind::Ipip),
            ][m as usize],
            ..dest(last, w)
        })
    }
    fn arb_service() -> impl Strategy<Value = Service> {
        (1u16..6, 0usize..3, any::<bool>(), any::<bool>()).prop_map(|(port, sch, pers, own)| {
            let mut s = Service::new(key(port), ["rr", "wrr", "sh"][sch]);
            if pers {
                s.flags = s.flags | ServiceFlags::PERSISTENT;
                s.timeout = 300;
            }
            if own {
                s.flags = s.flags | ServiceFlags::OWNED;
            }
            s
        })
    }
    fn arb_table() -> impl Strategy<Value = Table> {
        proptest::collection::vec(
            (arb_service(), proptest::collection::vec(arb_dest(), 0..5)),
            0..5,
        )
        .prop_map(|t| {
            // a kernel table has unique keys
            let mut seen = HashSet::new();
            t.into_iter()
                .filter(|(s, _)| seen.insert(s.key))
                .map(|(s, d)| {
                    let mut ds = HashSet::new();
                    (s, d.into_iter().filter(|x| ds.insert(x.key())).collect())
                })
                .collect()
        })
    }

    proptest! {
        #[test]
        fn plan_reaches_desired_and_leaves_foreign_alone(current in arb_table(), desired in arb_table()) {
            let owned = owned_by_marker(current.iter().map(|e| &e.0));
            let ops = plan(&desired, &current, &owned);
            let mut table = current.clone();
            for op in &ops {
                prop_assert_eq!(simulate(&mut table, op), Ok(()), "op {} failed", op);
            }
            let want_keys: HashSet<ServiceKey> = desired.iter().map(|e| e.0.key).collect();
            let managed = |k: &ServiceKey| want_keys.contains(k) || owned.contains(k);
            // managed part equals desired (with the marker)
            let got: Table = table.iter().filter(|e| managed(&e.0.key)).cloned().collect();
            let want: Table = desired.iter().map(|(s, d)| {
                let mut s = s.clone();
                s.flags = s.flags | ServiceFlags::OWNED;
                (s, d.clone())
            }).collect();
            prop_assert_eq!(canonical(&got), canonical(&want));
            // foreign part unchanged
            let foreign_before: Table = current.iter().filter(|e| !managed(&e.0.key)).cloned().collect();
            let foreign_after: Table = table.iter().filter(|e| !managed(&e.0.key)).cloned().collect();
            prop_assert_eq!(canonical(&foreign_before), canonical(&foreign_after));
            // never delete and re-add the same service
            for op in &ops {
                if let Op::DelService(k) = op {
                    prop_assert!(!ops.iter().any(|o| matches!(o, Op::AddService(s) if s.key == *k)));
                }
            }
            // idempotent: a second pass plans nothing
            let owned2 = owned_by_marker(table.iter().map(|e| &e.0));
            prop_assert_eq!(plan(&desired, &table, &owned2), vec![]);
        }
    }
}
