//! Tests against a real IPVS kernel: each test runs in its own network namespace (IPVS tables are
//! per namespace), reads the kernel's state back over netlink and cross-checks it with
//! `ipvsadm -Ln`. The host kernel has no ip_vs: run them in the guest
//! (`cargo xtask test`, or tools/run-ipvs-vm.sh with `--include-ignored --test-threads=1`).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use vrrp_ipvs::plan::{self, Table, canonical, owned_by_marker, read_current};
use vrrp_ipvs::{
    Client, Dest, DestKey, Error, Family, Forwarding, Op, Proto, Service, ServiceFlags, ServiceKey,
    TunnelKind,
};

const SCHEDULERS: [&str; 13] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "mh", "sed", "nq", "fo", "ovf",
];

/// Runs `f` on a new thread in a new network namespace with lo up; the namespace dies with the
/// thread (nothing else holds it), also when `f` panics.
///
/// lo up matters: ip_vs_new_dest refuses (EINVAL) an IPv4 destination whose inet_addr_type is
/// neither RTN_UNICAST nor RTN_LOCAL, and without any local address the namespace has no local
/// FIB table, so every address types as RTN_BROADCAST.
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

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}
fn v6(s: &str) -> IpAddr {
    s.parse::<Ipv6Addr>().unwrap().into()
}
fn tcp(addr: IpAddr, port: u16) -> ServiceKey {
    ServiceKey::Proto {
        proto: Proto::Tcp,
        addr,
        port,
    }
}

/// `ipvsadm ARGS` in the calling thread's namespace (a forked child inherits it).
fn ipvsadm(args: &[&str]) -> String {
    let out = Command::new("ipvsadm")
        .args(args)
        .output()
        .expect("ipvsadm not found (present in the guest)");
    assert!(
        out.status.success(),
        "ipvsadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Lines of `ipvsadm -Ln EXTRA`: services as (`TCP 198.51.100.1:80`, tokens) and destinations
/// as (`TCP 198.51.100.1:80 -> 192.0.2.10:80`, tokens after the address).
fn ipvsadm_parse(extra: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut args = vec!["-Ln"];
    args.extend_from_slice(extra);
    let text = ipvsadm(&args);
    let mut out = Vec::new();
    let mut svc = String::new();
    for line in text.lines() {
        let t: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        match t.first().map(String::as_str) {
            Some("TCP" | "UDP" | "SCTP") => {
                svc = format!("{} {}", t[0], t[1]);
                out.push((svc.clone(), t[2..].to_vec()));
            }
            Some("FWM") => {
                let (name, rest) = if t.get(2).map(String::as_str) == Some("IPv6") {
                    (format!("FWM {} IPv6", t[1]), 3)
                } else {
                    (format!("FWM {} IPv4", t[1]), 2)
                };
                svc = name;
                out.push((svc.clone(), t[rest..].to_vec()));
            }
            Some("->") if t.len() >= 3 && t[1] != "RemoteAddress:Port" => {
                out.push((format!("{svc} -> {}", t[1]), t[2..].to_vec()));
            }
            _ => {}
        }
    }
    out
}

/// What ipvsadm sees, reduced to comparable lines (sorted): services as `TCP 198.51.100.1:80
/// wrr [persistent 300]`, destinations as `TCP 198.51.100.1:80 -> 192.0.2.10:80 Tunnel gue:6080
/// weight 1 thresholds 100 10` (from `--tun-info` and `--thresholds`).
fn ipvsadm_lines() -> Vec<String> {
    let thresholds: std::collections::HashMap<String, Vec<String>> =
        ipvsadm_parse(&["--thresholds"]).into_iter().collect();
    let mut out = Vec::new();
    for (name, t) in ipvsadm_parse(&["--tun-info"]) {
        if name.contains(" -> ") {
            // Forward TunnelInfo Weight ... ; TunnelInfo: n/a | ipip | gue:PORT:FLAGS | gre:FLAGS
            let tun: Vec<&str> = t[1].split(':').collect();
            let tun = match tun[0] {
                "gue" => format!("gue:{}", tun.get(1).unwrap_or(&"?")),
                other => other.to_owned(),
            };
            let th = &thresholds[&name];
            out.push(format!(
                "{name} {} {tun} weight {} thresholds {} {}",
                t[0], t[2], th[0], th[1]
            ));
        } else {
            let mut l = format!("{name} {}", t[0]);
            if let Some(i) = t.iter().position(|x| x == "persistent") {
                l += &format!(" persistent {}", t[i + 1]);
            }
            out.push(l);
        }
    }
    out.sort();
    out
}

/// The same lines rendered from our netlink read-back.
fn our_lines(client: &mut Client) -> Vec<String> {
    let mut out = Vec::new();
    for s in client.list_services().unwrap() {
        let svc = s.service;
        let mut l = format!("{} {}", svc.key, svc.scheduler);
        if svc.flags.contains(ServiceFlags::PERSISTENT) {
            l += &format!(" persistent {}", svc.timeout);
        }
        out.push(l);
        for d in client.list_dests(&svc.key).unwrap() {
            let (fwd, tun) = match d.dest.forwarding {
                Forwarding::Masq => ("Masq", "n/a".to_owned()),
                Forwarding::Local => ("Local", "n/a".to_owned()),
                Forwarding::Route => ("Route", "n/a".to_owned()),
                Forwarding::Tunnel(TunnelKind::Ipip) => ("Tunnel", "ipip".to_owned()),
                Forwarding::Tunnel(TunnelKind::Gue { port, .. }) => {
                    ("Tunnel", format!("gue:{port}"))
                }
                Forwarding::Tunnel(TunnelKind::Gre { .. }) => ("Tunnel", "gre".to_owned()),
            };
            out.push(format!(
                "{} -> {} {fwd} {tun} weight {} thresholds {} {}",
                svc.key,
                d.dest.key(),
                d.dest.weight,
                d.dest.upper_threshold,
                d.dest.lower_threshold
            ));
        }
    }
    out.sort();
    out
}

fn assert_ipvsadm_agrees(client: &mut Client) {
    let ours = our_lines(client);
    assert_eq!(ours, ipvsadm_lines(), "netlink read-back vs ipvsadm -Ln");
}

/// The whole table as read back (every service, every destination).
fn read_all(client: &mut Client) -> Table {
    let services = client.list_services().unwrap();
    let mut t = Vec::new();
    for s in services {
        let d = client
            .list_dests(&s.service.key)
            .unwrap()
            .into_iter()
            .map(|d| d.dest)
            .collect();
        t.push((s.service, d));
    }
    canonical(&t)
}

fn run_ok(client: &mut Client, ops: &[Op]) {
    for (op, r) in ops.iter().zip(client.execute(ops)) {
        if let Err(e) = r {
            assert_eq!(
                e.to_string().split(": ").next(),
                Some(op.to_string().as_str())
            );
            panic!("{e}");
        }
    }
}

#[test]
fn availability_matches_proc_net_ip_vs() {
    // Runs everywhere: on the host (no ip_vs) it must say so precisely; in the guest it opens.
    let has_ipvs = std::path::Path::new("/proc/net/ip_vs").exists();
    match Client::new() {
        Ok(c) => assert!(has_ipvs, "client opened but /proc/net/ip_vs absent: {c:?}"),
        Err(e) => {
            assert!(!has_ipvs, "ip_vs loaded but client failed: {e}");
            assert!(matches!(e, Error::NotAvailable), "{e:?}");
            assert_eq!(
                e.to_string(),
                "IPVS not available: kernel has no ip_vs (generic netlink family \"IPVS\" not found)"
            );
        }
    }
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask test)"]
fn info_reports_the_version_ipvsadm_prints() {
    in_netns(|| {
        let mut c = Client::new().unwrap();
        let info = c.info().unwrap();
        let header = ipvsadm(&["-Ln"]);
        let want = format!(
            "IP Virtual Server version {} (size={})",
            info.version_string(),
            info.conn_tab_size
        );
        assert!(header.starts_with(&want), "{header:?} vs {want:?}");
        assert!(
            c.list_services().unwrap().is_empty(),
            "fresh netns has no services"
        );
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask test)"]
fn every_scheduler_for_both_families_is_added_edited_and_deleted() {
    in_netns(|| {
        let mut c = Client::new().unwrap();
        let mut services = Vec::new();
        for (i, sched) in SCHEDULERS.iter().enumerate() {
            let port = 1000 + i as u16;
            services.push(Service::new(tcp(v4(198, 51, 100, 1), port), *sched));
            services.push(Service::new(tcp(v6("2001:db8::1"), port), *sched));
        }
        for s in &services {
            c.add_service(s).unwrap_or_else(|e| panic!("{e}"));
            let d = Dest::new(
                if s.key.family() == Family::Inet {
                    v4(192, 0, 2, 10)
                } else {
                    v6("2001:db8::10")
                },
                80,
                Forwarding::Masq,
            );
            c.add_dest(&s.key, &d).unwrap();
        }
        let got: Vec<Service> = c
            .list_services()
            .unwrap()
            .into_iter()
            .map(|s| s.service)
            .collect();
        let mut want = services.clone();
        want.sort_by_key(|s| s.key);
        let mut got_sorted = got.clone();
        got_sorted.sort_by_key(|s| s.key);
        assert_eq!(got_sorted, want);
        assert_ipvsadm_agrees(&mut c);

        // edit: every service moves to the next scheduler, keeping its destination
        for (i, s) in services.iter_mut().enumerate() {
            s.scheduler = SCHEDULERS[(i / 2 + 1) % SCHEDULERS.len()].to_string();
            c.edit_service(s).unwrap_or_else(|e| panic!("{e}"));
        }
        let mut got: Vec<Service> = c
            .list_services()
            .unwrap()
            .into_iter()
            .map(|s| s.service)
            .collect();
        got.sort_by_key(|s| s.key);
        services.sort_by_key(|s| s.key);
        assert_eq!(got, services);
        for s in &services {
            assert_eq!(
                c.list_dests(&s.key).unwrap().len(),
                1,
                "edit kept the destination of {}",
                s.key
            );
        }
        assert_ipvsadm_agrees(&mut c);

        for s in &services {
            c.del_service(&s.key).unwrap();
        }
        assert!(c.list_services().unwrap().is_empty());
        assert_eq!(ipvsadm_lines(), Vec::<String>::new());
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask test)"]
fn every_forwarding_method_for_both_families_round_trips_and_edits_in_place() {
    in_netns(|| {
        let mut c = Client::new().unwrap();
        let methods = [
            Forwarding::Masq,
            Forwarding::Route,
            Forwarding::Tunnel(TunnelKind::Ipip),
            Forwarding::Tunnel(TunnelKind::Gue {
                port: 6080,
                flags: 1,
            }),
            Forwarding::Tunnel(TunnelKind::Gre { flags: 0 }),
        ];
        for (svc_addr, base) in [(v4(198, 51, 100, 2), "v4"), (v6("2001:db8::2"), "v6")] {
            let key = tcp(svc_addr, 80);
            c.add_service(&Service::new(key, "wlc")).unwrap();
            let mut dests: Vec<Dest> = methods
                .iter()
                .enumerate()
                .map(|(i, m)| Dest {
                    addr: if base == "v4" {
                        v4(192, 0, 2, 20 + i as u8)
                    } else {
                        v6(&format!("2001:db8::{:x}", 0x20 + i))
                    },
                    port: 8080,
                    forwarding: *m,
                    weight: 10 + i as u32,
                    upper_threshold: 100 * i as u32,
                    lower_threshold: 10 * i as u32,
                })
                .collect();
            for d in &dests {
                c.add_dest(&key, d).unwrap_or_else(|e| panic!("{e}"));
            }
            let mut got: Vec<Dest> = c
                .list_dests(&key)
                .unwrap()
                .into_iter()
                .map(|d| d.dest)
                .collect();
            got.sort_by_key(Dest::key);
            assert_eq!(got, dests);
            assert_ipvsadm_agrees(&mut c);

            // rotate the method of every dest and change weight/thresholds: edits, in place
            for (i, d) in dests.iter_mut().enumerate() {
                d.forwarding = methods[(i + 1) % methods.len()];
                d.weight = 0;
                d.upper_threshold = 7;
                d.lower_threshold = 3;
                c.edit_dest(&key, d).unwrap_or_else(|e| panic!("{e}"));
            }
            let mut got: Vec<Dest> = c
                .list_dests(&key)
                .unwrap()
                .into_iter()
                .map(|d| d.dest)
                .collect();
            got.sort_by_key(Dest::key);
            assert_eq!(got, dests);
            assert_ipvsadm_agrees(&mut c);

            c.del_dest(&key, &dests[0].key()).unwrap();
            assert_eq!(c.list_dests(&key).unwrap().len(), methods.len() - 1);
            assert_ipvsadm_agrees(&mut c);
        }
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask test)"]
fn fwmark_udp_sctp_and_service_flags_round_trip() {
    in_netns(|| {
        let mut c = Client::new().unwrap();
        let mut persistent = Service::new(tcp(v4(198, 51, 100, 3), 0), "rr");
        persistent.flags = ServiceFlags::PERSISTENT;
        persistent.timeout = 300;
        persistent.netmask_prefix = 24;
        let mut persistent6 = Service::new(tcp(v6("2001:db8::3"), 443), "wrr");
        persistent6.flags = ServiceFlags::PERSISTENT;
        persistent6.timeout = 60;
        persistent6.netmask_prefix = 64;
        let mut sh = Service::new(
            ServiceKey::Proto {
                proto: Proto::Udp,
                addr: v4(198, 51, 100, 3),
                port: 53,
            },
            "sh",
        );
        sh.flags = ServiceFlags::SH_FALLBACK | ServiceFlags::SH_PORT | ServiceFlags::ONEPACKET;
        let sctp = Service::new(
            ServiceKey::Proto {
                proto: Proto::Sctp,
                addr: v6("2001:db8::3"),
                port: 3868,
            },
            "mh",
        );
        let fw4 = Service::new(
            ServiceKey::Fwmark {
                mark: 7,
                family: Family::Inet,
            },
            "lc",
        );
        let mut fw6 = Service::new(
            ServiceKey::Fwmark {
                mark: 7,
                family: Family::Inet6,
            },
            "nq",
        );
        fw6.flags = ServiceFlags::PERSISTENT;
        fw6.timeout = 120;
        fw6.netmask_prefix = 48;
        let all = [persistent, persistent6, sh, sctp, fw4, fw6];
        for s in &all {
            c.add_service(s).unwrap_or_else(|e| panic!("{e}"));
        }
        c.add_dest(
            &all[4].key,
            &Dest::new(v4(192, 0, 2, 30), 0, Forwarding::Route),
        )
        .unwrap();
        c.add_dest(
            &all[5].key,
            &Dest::new(v6("2001:db8::30"), 0, Forwarding::Route),
        )
        .unwrap();
        let mut got: Vec<Service> = c
            .list_services()
            .unwrap()
            .into_iter()
            .map(|s| s.service)
            .collect();
        got.sort_by_key(|s| s.key);
        let mut want = all.to_vec();
        want.sort_by_key(|s| s.key);
        assert_eq!(got, want);
        assert_ipvsadm_agrees(&mut c);
        // the IPv4 persistence netmask as ipvsadm shows it
        assert!(ipvsadm(&["-Ln"]).contains("persistent 300 mask 255.255.255.0"));

        // edit away persistence and flags
        let mut plain = all[0].clone();
        plain.flags = ServiceFlags::NONE;
        plain.timeout = 0;
        c.edit_service(&plain).unwrap();
        let back = c
            .list_services()
            .unwrap()
            .into_iter()
            .find(|s| s.service.key == plain.key)
            .unwrap();
        assert_eq!(back.service.flags, ServiceFlags::NONE);
        assert_ipvsadm_agrees(&mut c);
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask test)"]
fn errors_name_the_operation_the_object_and_the_errno() {
    in_netns(|| {
        let mut c = Client::new().unwrap();
        let key = tcp(v4(198, 51, 100, 1), 80);
        let e = c.add_service(&Service::new(key, "nosuch")).unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENOENT));
        assert_eq!(
            e.to_string(),
            "add service TCP 198.51.100.1:80 (scheduler nosuch): No such file or directory (ENOENT) - no such scheduler in this kernel?"
        );
        let missing = tcp(v4(198, 51, 100, 9), 80);
        let e = c
            .add_dest(
                &missing,
                &Dest::new(v4(192, 0, 2, 10), 80, Forwarding::Masq),
            )
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "add destination 192.0.2.10:80 to TCP 198.51.100.9:80: No such process (ESRCH)"
        );
        c.add_service(&Service::new(key, "rr")).unwrap();
        let e = c.add_service(&Service::new(key, "rr")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "add service TCP 198.51.100.1:80 (scheduler rr): File exists (EEXIST)"
        );
        let e = c
            .del_dest(
                &key,
                &DestKey {
                    addr: v4(192, 0, 2, 99),
                    port: 80,
                },
            )
            .unwrap_err();
        assert_eq!(e.errno(), Some(libc::ENOENT), "{e}");
        assert!(
            e.to_string()
                .starts_with("delete destination 192.0.2.99:80 from TCP 198.51.100.1:80: "),
            "{e}"
        );
        // a batch continues past failures and reports each one
        let ops = vec![
            Op::AddDest(missing, Dest::new(v4(192, 0, 2, 10), 80, Forwarding::Masq)),
            Op::AddDest(key, Dest::new(v4(192, 0, 2, 10), 80, Forwarding::Masq)),
            Op::AddDest(key, Dest::new(v4(192, 0, 2, 10), 80, Forwarding::Masq)),
        ];
        let r = plan::apply(&mut c, &ops);
        assert_eq!(r.attempted, 3);
        let failed: Vec<(String, Option<i32>)> = r
            .failures
            .iter()
            .map(|(o, e)| (o.to_string(), e.errno()))
            .collect();
        assert_eq!(
            failed,
            vec![
                (ops[0].to_string(), Some(libc::ESRCH)),
                (ops[2].to_string(), Some(libc::EEXIST))
            ]
        );
        assert_eq!(c.list_dests(&key).unwrap().len(), 1);
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask test)"]
fn stats_count_a_scheduled_connection() {
    in_netns(|| {
        let ip = |args: &[&str]| {
            let s = Command::new("ip").args(args).status().expect("ip");
            assert!(s.success(), "ip {args:?}");
        };
        ip(&["addr", "add", "198.51.100.5/32", "dev", "lo"]);
        let listener = std::net::TcpListener::bind("0.0.0.0:8080").unwrap();
        let mut c = Client::new().unwrap();
        let key = tcp(v4(198, 51, 100, 5), 80);
        c.add_service(&Service::new(key, "rr")).unwrap();
        c.add_dest(
            &key,
            &Dest::new(v4(198, 51, 100, 5), 8080, Forwarding::Masq),
        )
        .unwrap();
        // a local client: IPVS schedules it in LOCAL_OUT (ip_vs_local_request4)
        let _ = std::net::TcpStream::connect_timeout(
            &"198.51.100.5:80".parse().unwrap(),
            std::time::Duration::from_secs(2),
        );
        drop(listener);
        // Counters reach user space through the rate estimator, which folds the per-CPU
        // counters in every 2 s (ip_vs_est.c): poll for a while rather than read at once.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let svc = loop {
            let svc = c
                .list_services()
                .unwrap()
                .into_iter()
                .find(|s| s.service.key == key)
                .unwrap();
            if svc.stats.conns >= 1 || std::time::Instant::now() > deadline {
                break svc;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        };
        let dest = c.list_dests(&key).unwrap().remove(0);
        assert!(
            svc.stats.conns >= 1 && svc.stats.inpkts >= 1,
            "{:?}",
            svc.stats
        );
        assert_eq!(dest.stats.conns, svc.stats.conns);
        // ipvsadm --stats: "TCP  198.51.100.5:80   Conns InPkts ..." cross-check of Conns
        let text = ipvsadm(&["-Ln", "--stats", "--exact"]);
        let line = text.lines().find(|l| l.starts_with("TCP")).unwrap();
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cols[2].parse::<u64>().unwrap(), svc.stats.conns, "{text}");
        assert_eq!(cols[3].parse::<u64>().unwrap(), svc.stats.inpkts, "{text}");
    });
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask test)"]
fn ownership_marker_survives_a_client_restart_and_ipvsadm_reads_it() {
    in_netns(|| {
        let key = tcp(v4(198, 51, 100, 1), 80);
        let desired = vec![(
            Service::new(key, "wrr"),
            vec![Dest::new(v4(192, 0, 2, 10), 80, Forwarding::Route)],
        )];
        {
            let mut c = Client::new().unwrap();
            let r = plan::reconcile(&mut c, &desired, &HashSet::new()).unwrap();
            assert!(r.failures.is_empty(), "{:?}", r.failures);
        }
        let mut c = Client::new().unwrap(); // "restarted agent"
        let services = c.list_services().unwrap();
        assert_eq!(
            owned_by_marker(services.iter().map(|s| &s.service)),
            HashSet::from([key])
        );
        assert_ipvsadm_agrees(&mut c);
        // empty config after restart: the owned service goes, nothing else is asked for
        let r = plan::reconcile(&mut c, &[], &HashSet::new()).unwrap();
        assert_eq!((r.attempted, r.failures.len()), (1, 0));
        assert!(c.list_services().unwrap().is_empty());
    });
}

fn arb_table(foreign: bool) -> impl Strategy<Value = Table> {
    let dest = (
        1u8..8,
        prop_oneof![Just(80u16), Just(8080)],
        0u32..3,
        0usize..3,
        any::<bool>(),
    )
        .prop_map(|(last, port, weight, m, six)| Dest {
            addr: if six {
                v6(&format!("2001:db8::a:{last}"))
            } else {
                v4(192, 0, 2, last)
            },
            port,
            forwarding: [
                Forwarding::Masq,
                Forwarding::Route,
                Forwarding::Tunnel(TunnelKind::Ipip),
            ][m],
            weight,
            // the kernel refuses lower > upper (ERANGE)
            upper_threshold: 100 * u32::from(last % 2),
            lower_threshold: u32::from(last % 2),
        });
    let svc = (
        1u16..6,
        0usize..SCHEDULERS.len(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(port, s, six, pers)| {
            let key = if port == 5 {
                ServiceKey::Fwmark {
                    mark: 5,
                    family: if six { Family::Inet6 } else { Family::Inet },
                }
            } else {
                tcp(
                    if six {
                        v6("2001:db8::1")
                    } else {
                        v4(198, 51, 100, 1)
                    },
                    port,
                )
            };
            let mut s = Service::new(key, SCHEDULERS[s]);
            if pers {
                s.flags = ServiceFlags::PERSISTENT;
                s.timeout = 30;
            }
            if !foreign {
                s.flags = s.flags | ServiceFlags::OWNED;
            }
            s
        });
    proptest::collection::vec((svc, proptest::collection::vec(dest, 0..6)), 0..5).prop_map(|t| {
        let mut seen = HashSet::new();
        t.into_iter()
            .filter(|(s, _)| seen.insert(s.key))
            .map(|(s, d)| {
                let fam = s.key.family();
                let mut ds = HashSet::new();
                // mixed-family destinations only with tunnelling (kernel rule)
                let d = d
                    .into_iter()
                    .filter(|x| {
                        Family::of(&x.addr) == fam || matches!(x.forwarding, Forwarding::Tunnel(_))
                    })
                    .filter(|x| ds.insert(x.key()))
                    .collect();
                (s, d)
            })
            .collect()
    })
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask test)"]
fn reconcile_from_arbitrary_states_reaches_desired_and_leaves_foreign_untouched() {
    let cases = std::env::var("IPVS_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut runner = TestRunner::new(Config {
        cases,
        ..Config::default()
    });
    let strategy = (arb_table(false), arb_table(true), arb_table(false));
    runner
        .run(&strategy, |(owned_start, foreign, desired)| {
            in_netns(move || {
                let mut c = Client::new().unwrap();
                // starting state: owned services (marked), then foreign ones on other keys
                let mut start: Table = owned_start.clone();
                for f in &foreign {
                    if !start.iter().any(|(s, _)| s.key == f.0.key) {
                        start.push(f.clone());
                    }
                }
                let setup: Vec<Op> = start
                    .iter()
                    .flat_map(|(s, ds)| {
                        std::iter::once(Op::AddService(s.clone()))
                            .chain(ds.iter().map(|d| Op::AddDest(s.key, d.clone())))
                    })
                    .collect();
                run_ok(&mut c, &setup);
                let before = read_all(&mut c);
                assert_eq!(before, canonical(&start));
                let desired_keys: HashSet<ServiceKey> = desired.iter().map(|e| e.0.key).collect();
                let owned = owned_by_marker(before.iter().map(|e| &e.0));
                let managed = |k: &ServiceKey| desired_keys.contains(k) || owned.contains(k);

                let r = plan::reconcile(&mut c, &desired, &HashSet::new()).unwrap();
                assert!(
                    r.failures.is_empty(),
                    "{:?}",
                    r.failures
                        .iter()
                        .map(|(_, e)| e.to_string())
                        .collect::<Vec<_>>()
                );
                let after = read_all(&mut c);
                let want: Table = desired
                    .iter()
                    .map(|(s, d)| {
                        let mut s = s.clone();
                        s.flags = s.flags | ServiceFlags::OWNED;
                        (s, d.clone())
                    })
                    .collect();
                let got: Table = after
                    .iter()
                    .filter(|e| managed(&e.0.key))
                    .cloned()
                    .collect();
                assert_eq!(got, canonical(&want));
                let foreign_before: Table = before
                    .iter()
                    .filter(|e| !managed(&e.0.key))
                    .cloned()
                    .collect();
                let foreign_after: Table = after
                    .iter()
                    .filter(|e| !managed(&e.0.key))
                    .cloned()
                    .collect();
                assert_eq!(foreign_after, foreign_before, "foreign services touched");
                assert_ipvsadm_agrees(&mut c);
                // a second pass finds nothing to do
                let (cur, owned2) = read_current(&mut c, &desired, &HashSet::new()).unwrap();
                assert_eq!(plan::plan(&desired, &cur, &owned2), vec![]);
            });
            Ok(())
        })
        .unwrap();
}

/// 10,000 destinations: (192.0.2.1..=200) x (ports 1..=50), one service.
fn ten_thousand() -> Vec<Dest> {
    (1..=200u8)
        .flat_map(|a| (1..=50u16).map(move |p| Dest::new(v4(192, 0, 2, a), p, Forwarding::Route)))
        .collect()
}

#[test]
#[ignore = "needs IPVS: runs in the guest kernel (cargo xtask test)"]
fn ten_thousand_destinations_reconcile_read_back_and_change_one() {
    in_netns(|| {
        let mut c = Client::new().unwrap();
        let key = tcp(v4(198, 51, 100, 1), 80);
        let mut dests = ten_thousand();
        let mut desired = vec![(Service::new(key, "wrr"), dests.clone())];
        let r = plan::reconcile(&mut c, &desired, &HashSet::new()).unwrap();
        assert_eq!((r.attempted, r.failures.len()), (10_001, 0));
        let mut got: Vec<Dest> = c
            .list_dests(&key)
            .unwrap()
            .into_iter()
            .map(|d| d.dest)
            .collect();
        got.sort_by_key(Dest::key);
        dests.sort_by_key(Dest::key);
        assert_eq!(got, dests);
        let ipvsadm_dests = ipvsadm_lines()
            .iter()
            .filter(|l| l.contains(" -> "))
            .count();
        assert_eq!(ipvsadm_dests, 10_000);

        desired[0].1[4321].weight = 9;
        let (cur, owned) = read_current(&mut c, &desired, &HashSet::new()).unwrap();
        let ops = plan::plan(&desired, &cur, &owned);
        assert_eq!(ops, vec![Op::EditDest(key, desired[0].1[4321].clone())]);
        let r = plan::apply(&mut c, &ops);
        assert!(r.failures.is_empty());
        let changed = c
            .list_dests(&key)
            .unwrap()
            .into_iter()
            .filter(|d| d.dest.weight == 9)
            .count();
        assert_eq!(changed, 1);
    });
}
