//! Benchmark: time to reconcile N real servers from empty and after one change, on the running
//! kernel (in a fresh network namespace), plus baselines that run on any kernel (generic-netlink
//! round trips, the pure planner) so figures from the TCG guest can be scaled to the host.
//!
//! Usage: bench-ipvs [--quick] [--runs R] [--host-rtt-us US]   (root; markdown tables, ms)
//!        bench-ipvs --rtt-only [--quick]   (any user, any kernel: prints `genl-rtt-us=US`)
//!
//! `cargo xtask bench` runs `--rtt-only` on the host, then the full bench in the IPVS guest with
//! `--host-rtt-us`, so the guest prints its slowdown factor (guest round trip / host round trip,
//! the same CTRL_CMD_GETFAMILY loop on both) and host estimates of its kernel figures.
//! Sizes: 1,000 and 10,000 destinations in both modes; `--quick` runs each case once and only
//! with the default batch (CI, about 30 s in the emulated guest).

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, Instant};

use vrrp_ipvs::plan::{self, Table};
use vrrp_ipvs::{Client, Dest, Forwarding, Proto, Service, ServiceKey};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

/// N destinations 192.0.2.1..=200 x ports 1.. (the documentation range, 200 x N/200).
fn dests(n: usize) -> Vec<Dest> {
    (0..n)
        .map(|i| {
            let a = Ipv4Addr::new(192, 0, 2, (i % 200) as u8 + 1);
            Dest::new(IpAddr::V4(a), (i / 200) as u16 + 1, Forwarding::Route)
        })
        .collect()
}

fn desired(n: usize, sched: &str) -> Table {
    let key = ServiceKey::Proto {
        proto: Proto::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
        port: 80,
    };
    vec![(Service::new(key, sched), dests(n))]
}

/// Generic-netlink round trip: CTRL_CMD_GETFAMILY("nlctrl") on one socket, reply read and
/// split. Works on any kernel, so it scales guest figures to the host. Per round trip.
fn genl_rtt(rounds: u32) -> Duration {
    use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};
    use vrrp_ipvs::msg::{self, MsgBuilder, Reply};
    let mut sock = Socket::new(NETLINK_GENERIC).expect("netlink socket");
    sock.bind_auto().expect("bind");
    sock.connect(&SocketAddr::new(0, 0)).expect("connect");
    let mut rbuf = Vec::with_capacity(64 * 1024);
    let t = Instant::now();
    for seq in 1..=rounds {
        let mut b = MsgBuilder::new(
            Vec::new(),
            msg::GENL_ID_CTRL,
            1,
            seq,
            msg::CTRL_CMD_GETFAMILY,
            1,
        );
        b.string(msg::CTRL_ATTR_FAMILY_NAME, "nlctrl");
        sock.send(&b.finish(), 0).expect("send");
        rbuf.clear();
        sock.recv(&mut rbuf, 0).expect("recv");
        let replies = msg::split_replies(&rbuf).expect("reply");
        assert!(matches!(replies.first(), Some(Reply::Genl { seq: s, .. }) if *s == seq));
    }
    t.elapsed() / rounds
}

/// Decoding N destination dump entries shaped as ip_vs_genl_fill_dest sends them (with both
/// stats nests): the user-space share of reading a table back. Pure CPU.
fn decode_time(n: usize, runs: usize) -> Duration {
    use vrrp_ipvs::msg::{self, MsgBuilder, Reply};
    let mut buf = Vec::new();
    for (i, d) in dests(n).iter().enumerate() {
        let mut b = MsgBuilder::new(buf, 99, 2, i as u32, msg::IPVS_CMD_NEW_DEST, 1);
        msg::put_dest(&mut b, d, true);
        // the read-only fields and two stats nests the kernel adds
        b.u32(msg::IPVS_DEST_ATTR_ACTIVE_CONNS, 1);
        b.u32(msg::IPVS_DEST_ATTR_INACT_CONNS, 2);
        b.u32(msg::IPVS_DEST_ATTR_PERSIST_CONNS, 3);
        for (nest, wide) in [
            (msg::IPVS_DEST_ATTR_STATS, false),
            (msg::IPVS_DEST_ATTR_STATS64, true),
        ] {
            b.begin_nest(nest);
            for k in 1..=10u16 {
                if wide {
                    b.attr(k, &u64::from(k).to_ne_bytes());
                } else {
                    b.u32(k, u32::from(k));
                }
            }
            b.end_nest();
        }
        buf = b.finish();
    }
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let mut count = 0;
                for r in msg::split_replies(&buf).expect("split") {
                    if let Reply::Genl { attrs, .. } = r {
                        let nest = msg::find_attr(attrs, msg::IPVS_CMD_ATTR_DEST)
                            .expect("attr")
                            .expect("dest");
                        msg::decode_dest(nest, vrrp_ipvs::Family::Inet).expect("decode");
                        count += 1;
                    }
                }
                assert_eq!(count, n);
                t.elapsed()
            })
            .collect(),
    )
}

/// Pure planner on N destinations: from empty and with one weight changed.
fn plan_time(n: usize, runs: usize) -> (Duration, Duration) {
    let want = desired(n, "wrr");
    let owned = HashSet::new();
    let empty = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let ops = plan::plan(&want, &[], &owned);
                assert_eq!(ops.len(), n + 1);
                t.elapsed()
            })
            .collect(),
    );
    let mut cur = want.clone();
    cur[0].0.flags = cur[0].0.flags | vrrp_ipvs::ServiceFlags::OWNED;
    cur[0].1[n / 2].weight = 7;
    let owned: HashSet<ServiceKey> = [cur[0].0.key].into();
    let one = median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                let ops = plan::plan(&want, &cur, &owned);
                assert_eq!(ops.len(), 1);
                t.elapsed()
            })
            .collect(),
    );
    (empty, one)
}

struct Row {
    n: usize,
    sched: &'static str,
    batch: usize,
    empty: Duration,
    one_read: Duration,
    one_total: Duration,
}

fn reconcile_case(c: &mut Client, n: usize, sched: &'static str, batch: usize, runs: usize) -> Row {
    c.set_batch(batch);
    let mut want = desired(n, sched);
    let none = HashSet::new();
    let mut empty = Vec::new();
    let mut one_read = Vec::new();
    let mut one_total = Vec::new();
    for r in 0..runs {
        c.flush().expect("flush");
        let t = Instant::now();
        let rep = plan::reconcile(c, &want, &none).expect("reconcile");
        empty.push(t.elapsed());
        assert!(rep.failures.is_empty(), "{}", rep.failures[0].1);
        assert_eq!(rep.attempted, n + 1);
        want[0].1[n / 2].weight = 2 + r as u32;
        let t = Instant::now();
        let (cur, owned) = plan::read_current(c, &want, &none).expect("read");
        one_read.push(t.elapsed());
        let ops = plan::plan(&want, &cur, &owned);
        assert_eq!(ops.len(), 1);
        let rep = plan::apply(c, &ops);
        one_total.push(t.elapsed());
        assert!(rep.failures.is_empty());
    }
    c.flush().expect("flush");
    Row {
        n,
        sched,
        batch,
        empty: median(empty),
        one_read: median(one_read),
        one_total: median(one_total),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 1 } else { 3 });
    let sizes: &[usize] = &[1000, 10_000];
    let rounds = if quick { 500 } else { 5000 };
    if args.iter().any(|a| a == "--rtt-only") {
        let rtt = genl_rtt(rounds);
        println!("genl-rtt-us={:.2}", rtt.as_secs_f64() * 1e6);
        return;
    }
    let host_rtt_us: Option<f64> = args
        .iter()
        .position(|a| a == "--host-rtt-us")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| *v > 0.0);

    // A namespace of our own: the bench flushes IPVS and must not touch anyone else's.
    let own_ns = nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).is_ok();
    if own_ns {
        let _ = Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
    }
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!(
        "# bench-ipvs (kernel {}, runs {runs}, median)\n",
        kernel.trim()
    );

    let rtt = genl_rtt(rounds);
    let rtt_us = rtt.as_secs_f64() * 1e6;
    println!("| baseline (runs on any kernel) | value |");
    println!("|---|---|");
    println!("| generic-netlink round trip, CTRL_CMD_GETFAMILY ({rounds}x) | {rtt_us:.1} us |");
    // The slowdown of this kernel (the TCG guest) against the host, measured the same way.
    let factor = host_rtt_us.map(|h| rtt_us / h);
    if let (Some(h), Some(f)) = (host_rtt_us, factor) {
        println!("| same round trip on the host | {h:.1} us |");
        println!("| slowdown factor (this kernel / host) | {f:.1}x |");
    }
    for &n in sizes {
        let (e, o) = plan_time(n, runs.max(3));
        println!(
            "| decode {n} dest dump entries (pure CPU) | {} ms |",
            ms(decode_time(n, runs.max(3)))
        );
        println!("| plan {n} dests from empty (pure CPU) | {} ms |", ms(e));
        println!("| plan {n} dests, one changed (pure CPU) | {} ms |", ms(o));
    }
    println!();

    if !own_ns {
        println!("not root (no own network namespace): skipping kernel figures");
        return;
    }
    let mut c = match Client::new() {
        Ok(c) => c,
        Err(e) => {
            println!("{e}: skipping kernel figures");
            return;
        }
    };
    let est = |d: Duration| match factor {
        Some(f) => format!(" | {:.2}", d.as_secs_f64() * 1e3 / f),
        None => String::new(),
    };
    let (est_head, est_rule) = if factor.is_some() {
        (
            " | host estimate: from empty (ms) | host estimate: one change (ms)",
            "|---|---",
        )
    } else {
        ("", "")
    };
    println!(
        "| dests | scheduler | batch | reconcile from empty (ms) | one change: read back (ms) | one change: total (ms){est_head} |"
    );
    println!("|---|---|---|---|---|---{est_rule}|");
    let batch = vrrp_ipvs::client::DEFAULT_BATCH;
    let mut cases = Vec::new();
    for &n in sizes {
        if !quick {
            cases.push((n, "wrr", 1));
        }
        cases.push((n, "wrr", batch));
    }
    // wrr recomputes gcd / max weight over all dests on each add (ip_vs_wrr.c): rr shows
    // what is left of the kernel's per-add cost.
    if !quick {
        cases.push((sizes[sizes.len() - 1], "rr", batch));
    }
    for (n, sched, batch) in cases {
        let r = reconcile_case(&mut c, n, sched, batch, runs);
        println!(
            "| {} | {} | {} | {} | {} | {}{}{} |",
            r.n,
            r.sched,
            r.batch,
            ms(r.empty),
            ms(r.one_read),
            ms(r.one_total),
            est(r.empty),
            est(r.one_total),
        );
    }
    if factor.is_some() {
        println!(
            "\nhost estimates = guest figure / slowdown factor: a rough scale (the guest is emulated \
             by TCG, which slows kernel code and system calls unevenly)"
        );
    }
}
