//! The IPVS worker (daemon/ipvs.rs) against a real IPVS kernel: each test runs in its own
//! network namespace (IPVS tables are per namespace; the worker thread inherits the namespace of
//! the thread that spawns it) and cross-checks the kernel with `ipvsadm -Ln`. The host kernel
//! has no ip_vs, so these are ignored there and run in the guest (`cargo xtask guest-test`),
//! except `missing_ipvs_is_reported_without_panic`, which runs everywhere.

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, Instant};

use vrrp_agent::daemon::ipvs::{IpvsWorker, Options};
use vrrp_ipvs::plan::Table;
use vrrp_ipvs::{Client, Dest, Forwarding, Proto, Service, ServiceFlags, ServiceKey};

const SETTLE: Duration = Duration::from_secs(20);

/// Runs `f` on a new thread in a new network namespace with lo up (see vrrp-ipvs/tests/kernel.rs:
/// without a local address every IPv4 destination is refused).
fn in_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .expect("unshare(CLONE_NEWNET): run as root");
        let up = Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        assert!(up.is_ok_and(|s| s.success()), "ip link set lo up");
        f()
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p))
}

fn v4(d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, d))
}
fn tcp(port: u16) -> ServiceKey {
    ServiceKey::Proto {
        proto: Proto::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
        port,
    }
}
fn dest(d: u8, weight: u32) -> Dest {
    Dest {
        weight,
        ..Dest::new(v4(d), 80, Forwarding::Masq)
    }
}
fn svc(port: u16, dests: Vec<Dest>) -> (Service, Vec<Dest>) {
    (Service::new(tcp(port), "wrr"), dests)
}

/// `ipvsadm ARGS` in the calling thread's namespace.
fn ipvsadm(args: &[&str]) -> String {
    let out = Command::new("ipvsadm")
        .args(args)
        .output()
        .expect("ipvsadm (present in the guest)");
    assert!(
        out.status.success(),
        "ipvsadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `ipvsadm -Ln` reduced to sorted lines: `TCP 198.51.100.1:80 wrr` and
/// `TCP 198.51.100.1:80 -> 192.0.2.10:80 Masq 1` (forwarding, weight).
fn ipvsadm_lines() -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in ipvsadm(&["-Ln"]).lines() {
        let t: Vec<&str> = line.split_whitespace().collect();
        match t.first().copied() {
            Some("TCP" | "UDP" | "SCTP") => {
                cur = format!("{} {}", t[0], t[1]);
                out.push(format!("{cur} {}", t[2]));
            }
            Some("->") if t.len() >= 4 && t[1] != "RemoteAddress:Port" => {
                out.push(format!("{cur} -> {} {} {}", t[1], t[2], t[3]));
            }
            _ => {}
        }
    }
    out.sort();
    out
}

/// The lines `ipvsadm_lines` should show for `table`.
fn expected_lines(table: &Table) -> Vec<String> {
    let mut out = Vec::new();
    for (s, ds) in table {
        out.push(format!("{} {}", s.key, s.scheduler));
        for d in ds {
            out.push(format!(
                "{} -> {}:{} Masq {}",
                s.key, d.addr, d.port, d.weight
            ));
        }
    }
    out.sort();
    out
}

fn fast() -> Options {
    Options {
        resync_interval: Duration::from_millis(500),
        retry_min: Duration::from_millis(20),
    }
}

/// Polls `cond` every 20 ms until it holds or `timeout` passes.
fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn missing_ipvs_is_reported_without_panic() {
    // Runs on the host (no ip_vs: Client::new fails) and in the guest (ip_vs: then it must work).
    std::thread::spawn(|| {
        let own_ns = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).is_ok();
        if own_ns {
            let _ = Command::new("ip")
                .args(["link", "set", "lo", "up"])
                .status();
        }
        let have_ipvs = Client::new().is_ok();
        let w = IpvsWorker::spawn_with(fast());
        let t = Instant::now();
        let g = if have_ipvs && !own_ns {
            0 // never touch a table outside a namespace of our own
        } else {
            w.set_desired(vec![svc(80, vec![dest(10, 1)])])
        };
        assert!(
            t.elapsed() < Duration::from_millis(100),
            "set_desired blocked"
        );
        if have_ipvs {
            if g > 0 {
                assert!(w.wait_settled(g, SETTLE), "{:?}", w.snapshot());
            }
            assert!(w.snapshot().available);
        } else {
            // retried with backoff: several failed passes, each recorded
            assert!(
                eventually(Duration::from_secs(5), || w.snapshot().failures >= 3),
                "{:?}",
                w.snapshot()
            );
            let s = w.snapshot();
            assert!(!s.available && !s.in_sync, "{s:?}");
            let err = s.last_error.expect("error reported");
            assert!(err.contains("IPVS not available"), "{err}");
            assert!(!w.settled(g));
            assert!(!w.wait_settled(g, Duration::from_millis(50)));
        }
        let json = serde_json::to_value(w.snapshot()).unwrap();
        assert_eq!(json["available"], have_ipvs);
        assert!(
            w.shutdown(true, Duration::from_secs(5)),
            "shutdown timed out"
        );
    })
    .join()
    .unwrap_or_else(|p| std::panic::resume_unwind(p));
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask guest-test)"]
fn initial_apply_reaches_the_desired_table() {
    in_netns(|| {
        let w = IpvsWorker::spawn_with(fast());
        let table = vec![
            svc(80, vec![dest(10, 1), dest(11, 2), dest(12, 3)]),
            svc(443, vec![dest(20, 1)]),
        ];
        let g = w.set_desired(table.clone());
        assert!(w.wait_settled(g, SETTLE), "{:?}", w.snapshot());
        assert_eq!(ipvsadm_lines(), expected_lines(&table));
        let s = w.snapshot();
        assert_eq!(s.ops_applied, 6, "2 services + 4 destinations");
        assert_eq!((s.failures, s.generation), (0, g));
        assert!(s.available && s.in_sync && s.last_error.is_none());
        assert_eq!(s.services.len(), 2);
        assert!(
            s.services
                .iter()
                .all(|(sv, _)| sv.flags.contains(ServiceFlags::OWNED))
        );
        // a second identical wish is a no-op
        let g2 = w.set_desired(table);
        assert!(w.wait_settled(g2, SETTLE));
        assert_eq!(w.snapshot().ops_applied, 6);
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask guest-test)"]
fn weight_edit_keeps_the_destination_and_its_stats() {
    in_netns(|| {
        let ip = |args: &[&str]| {
            let s = Command::new("ip").args(args).status().expect("ip");
            assert!(s.success(), "ip {args:?}");
        };
        ip(&["addr", "add", "198.51.100.5/32", "dev", "lo"]);
        let listener = std::net::TcpListener::bind("0.0.0.0:8080").unwrap();
        let key = ServiceKey::Proto {
            proto: Proto::Tcp,
            addr: "198.51.100.5".parse().unwrap(),
            port: 80,
        };
        let real = |weight| Dest {
            weight,
            ..Dest::new("198.51.100.5".parse().unwrap(), 8080, Forwarding::Masq)
        };
        let w = IpvsWorker::spawn_with(fast());
        let g = w.set_desired(vec![(Service::new(key, "wrr"), vec![real(1), dest(10, 1)])]);
        assert!(w.wait_settled(g, SETTLE), "{:?}", w.snapshot());
        // one connection scheduled (locally, LOCAL_OUT) so the destinations have counters
        for _ in 0..4 {
            let _ = std::net::TcpStream::connect_timeout(
                &"198.51.100.5:80".parse().unwrap(),
                Duration::from_millis(300),
            );
        }
        let mut c = Client::new().unwrap();
        let conns = |c: &mut Client| -> u64 {
            c.list_dests(&key)
                .unwrap()
                .iter()
                .map(|d| d.stats.conns)
                .sum()
        };
        // counters go through the 2 s rate estimator
        assert!(eventually(Duration::from_secs(10), || conns(&mut c) >= 1));
        let before = conns(&mut c);
        let ops_before = w.snapshot().ops_applied;
        let g = w.set_desired(vec![(Service::new(key, "wrr"), vec![real(5), dest(10, 7)])]);
        assert!(w.wait_settled(g, SETTLE), "{:?}", w.snapshot());
        assert_eq!(
            w.snapshot().ops_applied - ops_before,
            2,
            "two in-place edits, no delete/re-add"
        );
        // The op count is what proves there was no delete + re-add: the kernel would restore a
        // deleted destination that connections still reference from its trash, counters and
        // all (checked: with edits turned into delete + add, only the count assertion fails).
        // The counters must survive in any case.
        assert!(conns(&mut c) >= before, "counters lost");
        let text = ipvsadm(&["-Ln"]);
        let weights: Vec<(String, String)> = text
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|t| t.first() == Some(&"->") && t[1] != "RemoteAddress:Port")
            .map(|t| (t[1].to_string(), t[3].to_string()))
            .collect();
        assert!(
            weights.contains(&("198.51.100.5:8080".into(), "5".into())),
            "{text}"
        );
        assert!(
            weights.contains(&("192.0.2.10:80".into(), "7".into())),
            "{text}"
        );
        drop(listener);
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask guest-test)"]
fn removing_a_destination_is_one_delete() {
    in_netns(|| {
        let w = IpvsWorker::spawn_with(fast());
        let g = w.set_desired(vec![svc(80, vec![dest(10, 1), dest(11, 1), dest(12, 1)])]);
        assert!(w.wait_settled(g, SETTLE));
        let before = w.snapshot().ops_applied;
        let table = vec![svc(80, vec![dest(10, 1), dest(12, 1)])];
        let g = w.set_desired(table.clone());
        assert!(w.wait_settled(g, SETTLE), "{:?}", w.snapshot());
        assert_eq!(w.snapshot().ops_applied - before, 1);
        assert_eq!(ipvsadm_lines(), expected_lines(&table));
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask guest-test)"]
fn a_foreign_service_is_left_alone() {
    in_netns(|| {
        ipvsadm(&["-A", "-t", "203.0.113.1:80", "-s", "rr"]);
        ipvsadm(&[
            "-a",
            "-t",
            "203.0.113.1:80",
            "-r",
            "192.0.2.50:80",
            "-m",
            "-w",
            "3",
        ]);
        let foreign = ipvsadm_lines();
        let w = IpvsWorker::spawn_with(fast());
        let table = vec![svc(80, vec![dest(10, 1)])];
        let g = w.set_desired(table.clone());
        assert!(w.wait_settled(g, SETTLE));
        let mut want = [foreign.clone(), expected_lines(&table)].concat();
        want.sort();
        assert_eq!(ipvsadm_lines(), want);
        // the snapshot shows it, without its destinations (never read) and not owned
        let s = w.snapshot();
        let f = s
            .services
            .iter()
            .find(|(sv, _)| sv.key.to_string() == "TCP 203.0.113.1:80")
            .expect("foreign service in the snapshot");
        assert!(f.1.is_empty() && !f.0.flags.contains(ServiceFlags::OWNED));
        // an empty wish removes ours only, and a resync does not touch the foreign one
        let g = w.set_desired(Vec::new());
        assert!(w.wait_settled(g, SETTLE));
        assert!(w.wait_pass(Duration::from_secs(5)));
        assert_eq!(ipvsadm_lines(), foreign);
        assert!(w.shutdown(true, Duration::from_secs(5)));
        assert_eq!(ipvsadm_lines(), foreign);
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask guest-test)"]
fn drift_is_repaired_by_the_periodic_resync() {
    in_netns(|| {
        let w = IpvsWorker::spawn_with(fast());
        let table = vec![svc(80, vec![dest(10, 1), dest(11, 2)])];
        let g = w.set_desired(table.clone());
        assert!(w.wait_settled(g, SETTLE));
        // an operator, behind the worker's back
        ipvsadm(&["-d", "-t", "198.51.100.1:80", "-r", "192.0.2.11:80"]);
        ipvsadm(&[
            "-e",
            "-t",
            "198.51.100.1:80",
            "-r",
            "192.0.2.10:80",
            "-m",
            "-w",
            "9",
        ]);
        assert_ne!(ipvsadm_lines(), expected_lines(&table));
        // within one resync interval (500 ms) plus slack for the emulated guest
        let repaired = eventually(Duration::from_secs(5), || w.snapshot().repairs >= 2);
        let s = w.snapshot();
        assert!(repaired, "{s:?}");
        assert_eq!(s.repairs, 2, "one add, one edit");
        assert!(s.resyncs >= 1 && s.in_sync);
        assert_eq!(ipvsadm_lines(), expected_lines(&table));
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask guest-test)"]
fn shutdown_with_remove_deletes_only_ours() {
    in_netns(|| {
        ipvsadm(&["-A", "-t", "203.0.113.1:80", "-s", "rr"]);
        let foreign = ipvsadm_lines();
        let w = IpvsWorker::spawn_with(fast());
        let g = w.set_desired(vec![svc(80, vec![dest(10, 1)]), svc(81, vec![])]);
        assert!(w.wait_settled(g, SETTLE));
        assert_eq!(ipvsadm_lines().len(), 4);
        assert!(
            w.shutdown(true, Duration::from_secs(5)),
            "shutdown timed out"
        );
        assert_eq!(ipvsadm_lines(), foreign);
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask guest-test)"]
fn kept_services_are_adopted_by_the_next_worker_by_marker() {
    in_netns(|| {
        let first = vec![
            svc(80, vec![dest(10, 1), dest(11, 1)]),
            svc(81, vec![dest(10, 1)]),
        ];
        let w = IpvsWorker::spawn_with(fast());
        let g = w.set_desired(first.clone());
        assert!(w.wait_settled(g, SETTLE));
        assert!(w.shutdown(false, Duration::from_secs(5)));
        assert_eq!(ipvsadm_lines(), expected_lines(&first), "kept");

        // A restarted agent: before its configuration arrives it changes nothing.
        let w = IpvsWorker::spawn_with(fast());
        assert!(w.wait_pass(Duration::from_secs(5)));
        assert!(w.wait_pass(Duration::from_secs(5)), "a resync too");
        let s = w.snapshot();
        assert_eq!((s.ops_applied, s.services.len()), (0, 2), "{s:?}");
        assert!(s.available && !s.in_sync);
        assert_eq!(ipvsadm_lines(), expected_lines(&first));

        // Its new configuration: 81 is gone (owned by marker: deleted), 80 is edited in place.
        let second = vec![svc(80, vec![dest(10, 3), dest(12, 1)])];
        let g = w.set_desired(second.clone());
        assert!(w.wait_settled(g, SETTLE), "{:?}", w.snapshot());
        assert_eq!(ipvsadm_lines(), expected_lines(&second));
        assert_eq!(
            w.snapshot().ops_applied,
            4,
            "delete 81, delete dest .11, edit dest .10, add dest .12"
        );
        drop(w); // Drop stops without removing
        assert_eq!(ipvsadm_lines(), expected_lines(&second));
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask guest-test)"]
fn many_wishes_coalesce_and_the_latest_wins() {
    in_netns(|| {
        let w = IpvsWorker::spawn_with(fast());
        let dests: Vec<Dest> = (1..=50).map(|i| dest(i, 1)).collect();
        let g0 = w.set_desired(vec![svc(80, dests.clone())]);
        assert!(w.wait_settled(g0, SETTLE));
        let passes0 = w.snapshot().passes;
        let mut last = 0;
        let mut table = Vec::new();
        let t = Instant::now();
        for weight in 1..=500u32 {
            let mut d = dests.clone();
            for x in &mut d {
                x.weight = weight;
            }
            table = vec![svc(80, d)];
            last = w.set_desired(table.clone());
        }
        let took = t.elapsed();
        assert!(w.wait_settled(last, SETTLE), "{:?}", w.snapshot());
        let s = w.snapshot();
        assert_eq!(s.generation, last);
        assert_eq!(ipvsadm_lines(), expected_lines(&table));
        let passes = s.passes - passes0;
        eprintln!("500 wishes in {took:?}: {passes} passes");
        assert!(
            passes < 100,
            "{passes} passes for 500 wishes: not coalesced"
        );
        assert!(
            w.wait_settled(g0, Duration::ZERO),
            "an older generation counts as settled once superseded and applied"
        );
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask guest-test)"]
fn a_refused_operation_is_reported_and_retried() {
    in_netns(|| {
        let w = IpvsWorker::spawn_with(fast());
        let bad = vec![(
            Service::new(tcp(80), "no-such-scheduler"),
            vec![dest(10, 1)],
        )];
        let g = w.set_desired(bad);
        assert!(eventually(Duration::from_secs(10), || w
            .snapshot()
            .failures
            >= 3));
        let s = w.snapshot();
        assert!(!s.in_sync && !w.settled(g) && s.available, "{s:?}");
        let err = s.last_error.unwrap();
        assert!(
            err.contains("add service TCP 198.51.100.1:80") && err.contains("scheduler"),
            "{err}"
        );
        let good = vec![svc(80, vec![dest(10, 1)])];
        let g = w.set_desired(good.clone());
        assert!(w.wait_settled(g, SETTLE), "{:?}", w.snapshot());
        assert!(w.snapshot().last_error.is_none());
        assert_eq!(ipvsadm_lines(), expected_lines(&good));
    });
}
