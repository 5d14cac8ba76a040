//! vrrp-agent operations: track scripts, notify scripts, SIGHUP reload (good and broken files),
//! restart after kill -9 (stale VIPs removed), status output.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::Duration;

use vrrp_tests::agent::{AgentLab, Inst, render_config};
use vrrp_tests::topo::{is_root, wait_for};

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn skip_unless_root() -> bool {
    if !is_root() {
        eprintln!("SKIP: needs root (namespaces, XDP)");
        return true;
    }
    false
}

// keepalived vrrp_script semantics: a failing script with a negative weight lowers the
// effective priority below the peer's, which then preempts (RFC 5798 §6.4.2); when the script
// recovers, the priority comes back and the first router preempts again.
#[test]
fn track_script_failure_moves_the_master_and_recovery_moves_it_back() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("ts", 3);
    let d0 = lab.host_dir(0);
    let flag = d0.join("healthy");
    std::fs::write(&flag, "").unwrap();
    let check = d0.join("check.sh");
    script(&check, &format!("test -e {}", flag.display()));
    let global = format!(
        "scripts:\n  chk:\n    command: [{}]\n    interval: 100ms\n    timeout: 100ms\n    weight: -100\n    rise: 2\n    fall: 2\n",
        check.display()
    );
    let a = lab.start(
        0,
        "1s",
        &global,
        &[Inst::v4("VI_1", 1, 150, "192.0.2.100/24").with("track:\n      scripts: [{name: chk}]")],
    );
    let b = lab.start(1, "1s", "", &[Inst::v4("VI_1", 1, 100, "192.0.2.100/24")]);
    a.wait_state("VI_1", "MASTER", Duration::from_secs(3))
        .unwrap();
    b.wait_state("VI_1", "BACKUP", Duration::from_secs(3))
        .unwrap();
    std::fs::remove_file(&flag).unwrap();
    b.wait_state("VI_1", "MASTER", Duration::from_secs(3))
        .unwrap();
    a.wait_state("VI_1", "BACKUP", Duration::from_secs(1))
        .unwrap();
    assert_eq!(a.instance("VI_1").unwrap().effective_priority, 50);
    std::fs::write(&flag, "").unwrap();
    a.wait_state("VI_1", "MASTER", Duration::from_secs(3))
        .unwrap();
    b.wait_state("VI_1", "BACKUP", Duration::from_secs(1))
        .unwrap();
    assert_eq!(a.instance("VI_1").unwrap().effective_priority, 150);
}

// keepalived notify: per-state scripts and the generic one with TYPE NAME STATE PRIORITY.
#[test]
fn notify_scripts_run_with_keepalived_arguments() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("nt", 2);
    let d0 = lab.host_dir(0);
    let log = d0.join("notify.log");
    let any = d0.join("any.sh");
    let master = d0.join("master.sh");
    script(&any, &format!("echo \"$*\" >> {}", log.display()));
    script(&master, &format!("echo master-script >> {}", log.display()));
    let mut a = lab.start(
        0,
        "1s",
        "",
        &[Inst::v4("VI_2", 2, 150, "192.0.2.100/24").with(&format!(
            "notify:\n      master: [{}]\n      any: [{}]",
            master.display(),
            any.display()
        ))],
    );
    a.wait_state("VI_2", "MASTER", Duration::from_secs(3))
        .unwrap();
    let want = "master-script\nINSTANCE VI_2 MASTER 150\n";
    let got = wait_for(Duration::from_secs(3), || {
        let s = std::fs::read_to_string(&log).unwrap_or_default();
        s.contains("INSTANCE VI_2 MASTER 150").then_some(s)
    });
    assert!(
        got.as_deref()
            .is_some_and(|g| g.ends_with(want) || g.contains(want)),
        "notify log: {got:?}"
    );
    a.proc.signal(libc::SIGTERM);
    a.proc.wait_exit(Duration::from_secs(5)).unwrap();
    let got = std::fs::read_to_string(&log).unwrap();
    assert!(
        got.contains("INSTANCE VI_2 STOP"),
        "no STOP notification: {got}"
    );
}

// SIGHUP with the same instance: no transition, no VIP flap. With a broken file: the running
// config stays in force and the error is logged.
#[test]
fn sighup_reload_keeps_unchanged_instances_and_refuses_a_broken_file() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("rl", 2);
    let a = lab.start(0, "1s", "", &[Inst::v4("VI_3", 3, 150, "192.0.2.100/24")]);
    a.wait_state("VI_3", "MASTER", Duration::from_secs(3))
        .unwrap();
    let before = a.instance("VI_3").unwrap();
    // Same instance plus a new one.
    let d0 = lab.host_dir(0);
    let yaml = render_config(
        &d0,
        "1s",
        "",
        &[
            Inst::v4("VI_3", 3, 150, "192.0.2.100/24"),
            Inst::v4("VI_4", 4, 150, "192.0.2.101/24"),
        ],
    );
    std::fs::write(&a.config, yaml).unwrap();
    a.proc.signal(libc::SIGHUP);
    a.wait_state("VI_4", "MASTER", Duration::from_secs(3))
        .unwrap();
    let after = a.instance("VI_3").unwrap();
    assert_eq!(after.state, "MASTER");
    assert_eq!(
        after.last_transition, before.last_transition,
        "VI_3 transitioned on reload"
    );
    // A broken file.
    std::fs::write(&a.config, "instances:\n  VI_3:\n    vrid: 300\n").unwrap();
    a.proc.signal(libc::SIGHUP);
    let logged = wait_for(Duration::from_secs(3), || {
        a.proc.log_text().contains("reload refused").then_some(())
    });
    assert!(
        logged.is_some(),
        "no refusal logged:\n{}",
        a.proc.log_text()
    );
    assert_eq!(a.state("VI_3"), "MASTER");
    assert_eq!(a.state("VI_4"), "MASTER");
}

// A restart after kill -9 finds the VIPs the dead agent left (marked with our IFA_PROTO) and
// removes them before electing.
#[test]
fn restart_after_kill_9_removes_stale_vips_before_electing() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("rs", 2);
    let a = lab.start(0, "1s", "", &[Inst::v4("VI_5", 5, 150, "192.0.2.100/24")]);
    a.wait_state("VI_5", "MASTER", Duration::from_secs(3))
        .unwrap();
    a.proc.signal(libc::SIGKILL);
    drop(a);
    let h0 = &lab.lan.hosts[0];
    assert!(
        h0.exec(&["ip", "-o", "addr"])
            .unwrap()
            .contains("192.0.2.100"),
        "VIP not left behind"
    );
    // Restart as a Backup-only node (priority lower than a running peer): the stale VIP must go.
    let b = lab.start(1, "1s", "", &[Inst::v4("VI_5", 5, 200, "192.0.2.100/24")]);
    b.wait_state("VI_5", "MASTER", Duration::from_secs(3))
        .unwrap();
    let a = lab.start(0, "1s", "", &[Inst::v4("VI_5", 5, 100, "192.0.2.100/24")]);
    a.wait_state("VI_5", "BACKUP", Duration::from_secs(3))
        .unwrap();
    assert!(
        !h0.exec(&["ip", "-o", "addr"])
            .unwrap()
            .contains("192.0.2.100"),
        "stale VIP survived the restart"
    );
    assert!(
        a.proc.log_text().contains("stale VIP"),
        "removal not logged"
    );
}

// `vrrp-agent status` renders the table and `--json` the document.
#[test]
fn status_command_shows_state_priority_and_counters() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("ss", 2);
    let a = lab.start(0, "1s", "", &[Inst::v4("VI_6", 6, 150, "192.0.2.100/24")]);
    a.wait_state("VI_6", "MASTER", Duration::from_secs(3))
        .unwrap();
    let bin = vrrp_tests::agent::agent_binary();
    let sock = a.socket();
    let out = std::process::Command::new(&bin)
        .args(["status", "--socket"])
        .arg(&sock)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("VI_6") && text.contains("MASTER") && text.contains("150"),
        "{text}"
    );
    let out = std::process::Command::new(&bin)
        .args(["status", "--json", "--socket"])
        .arg(&sock)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["instances"][0]["state"], "MASTER");
    assert!(
        v["instances"][0]["counters"]["adverts_sent"]
            .as_u64()
            .unwrap()
            > 0
    );
}

// keepalived track_file: the file's integer times the weight is added to the priority; with
// weight 0 a non-zero value means FAULT.
#[test]
fn track_file_lowers_priority_and_weight_zero_faults() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("tf", 2);
    let d0 = lab.host_dir(0);
    let (w, z) = (d0.join("weighted"), d0.join("fatal"));
    std::fs::write(&w, "0\n").unwrap();
    std::fs::write(&z, "0\n").unwrap();
    let a = lab.start(
        0,
        "1s",
        "",
        &[Inst::v4("VI_F", 11, 150, "192.0.2.100/24").with(&format!(
            "track:\n      files: [{{path: {}, weight: -10}}, {{path: {}, weight: 0}}]",
            w.display(),
            z.display()
        ))],
    );
    a.wait_state("VI_F", "MASTER", Duration::from_secs(3))
        .unwrap();
    std::fs::write(&w, "3\n").unwrap();
    let got = wait_for(Duration::from_secs(3), || {
        (a.instance("VI_F").ok()?.effective_priority == 120).then_some(())
    });
    assert!(
        got.is_some(),
        "priority not lowered: {:?}",
        a.instance("VI_F")
    );
    std::fs::write(&z, "1\n").unwrap();
    a.wait_state("VI_F", "FAULT", Duration::from_secs(3))
        .unwrap();
    std::fs::write(&z, "0\n").unwrap();
    a.wait_state("VI_F", "MASTER", Duration::from_secs(3))
        .unwrap();
}

// keepalived vrrp_sync_group: members move together. A link down of the interface that only
// one member tracks puts that member in FAULT and the group with it; both recover together.
#[test]
fn sync_group_members_fault_and_recover_together() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("sg", 2);
    // A second interface on host 0 for the tracked link: a veth pair inside the namespace.
    let h0 = &lab.lan.hosts[0];
    h0.exec(&[
        "ip", "link", "add", "trk0", "type", "veth", "peer", "name", "trk1",
    ])
    .unwrap();
    h0.exec(&["ip", "link", "set", "trk0", "up"]).unwrap();
    h0.exec(&["ip", "link", "set", "trk1", "up"]).unwrap();
    let global = "sync_groups:\n  SG:\n    instances: [A, B]\n";
    let a = lab.start(
        0,
        "1s",
        global,
        &[
            Inst::v4("A", 41, 150, "192.0.2.100/24").with("track:\n      interfaces: [trk0]"),
            Inst::v4("B", 42, 150, "192.0.2.101/24"),
        ],
    );
    a.wait_state("A", "MASTER", Duration::from_secs(3)).unwrap();
    a.wait_state("B", "MASTER", Duration::from_secs(3)).unwrap();
    h0.exec(&["ip", "link", "set", "trk1", "down"]).unwrap();
    a.wait_state("A", "FAULT", Duration::from_secs(3)).unwrap();
    a.wait_state("B", "FAULT", Duration::from_secs(3)).unwrap();
    h0.exec(&["ip", "link", "set", "trk1", "up"]).unwrap();
    a.wait_state("A", "MASTER", Duration::from_secs(3)).unwrap();
    a.wait_state("B", "MASTER", Duration::from_secs(3)).unwrap();
}

// An interface missing at start is a FAULT with its reason (check only warns); when the
// interface appears, the instance starts on it without a restart.
#[test]
fn an_instance_on_a_missing_interface_starts_when_the_interface_appears() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("mi", 2);
    let a = lab.start(
        0,
        "1s",
        "",
        &[
            Inst::v4("E0", 51, 150, "192.0.2.100/24"),
            Inst::v4("E1", 52, 150, "198.51.100.100/24").on("lan1"),
        ],
    );
    a.wait_state("E0", "MASTER", Duration::from_secs(3))
        .unwrap();
    let e1 = a.instance("E1").unwrap();
    assert_eq!(e1.state, "FAULT");
    assert!(
        e1.fault.as_deref().is_some_and(|f| f.contains("lan1")),
        "{e1:?}"
    );
    let h0 = &lab.lan.hosts[0];
    h0.exec(&[
        "ip", "link", "add", "lan1", "type", "veth", "peer", "name", "lan1p",
    ])
    .unwrap();
    h0.exec(&["ip", "addr", "add", "198.51.100.10/24", "dev", "lan1"])
        .unwrap();
    h0.exec(&["ip", "link", "set", "lan1p", "up"]).unwrap();
    h0.exec(&["ip", "link", "set", "lan1", "up"]).unwrap();
    a.wait_state("E1", "MASTER", Duration::from_secs(3))
        .unwrap();
    assert_eq!(a.instance("E1").unwrap().fault, None);
    assert_eq!(a.state("E0"), "MASTER");
}

// Issue 7: adverts due in the same turn of the event loop leave in one sendmmsg. Sixteen
// instances with the same priority and interval become Master at the same Master_Down deadline
// (RFC 5798 §6.4.1: same Skew_Time), so their Adver_Timers stay in phase (reset from the
// deadline, §6.4.3) and each round of sixteen adverts is one system call.
#[test]
fn adverts_due_together_leave_in_one_sendmmsg() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("bt", 2);
    let insts: Vec<Inst> = (1..=16u8)
        .map(|v| {
            Inst::v4(
                &format!("VI_{v}"),
                v,
                100,
                &format!("192.0.2.{}/24", 100 + v),
            )
            .interval("50ms")
        })
        .collect();
    let a = lab.start(0, "1s", "", &insts);
    for v in 1..=16 {
        a.wait_state(&format!("VI_{v}"), "MASTER", Duration::from_secs(3))
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(500));
    let s = a.status().unwrap();
    let sent: u64 = s.instances.iter().map(|i| i.counters["adverts_sent"]).sum();
    let iface = &s.interfaces[0];
    // Every advert left (plus the GARP rounds), none was lost to a full socket buffer.
    assert!(iface.tx_frames >= sent, "{iface:?} vs {sent} adverts");
    assert!(s.instances.iter().all(|i| i.counters["tx_errors"] == 0));
    // Rounds of 16 adverts: at least 8 frames per call on average (GARP rounds are in phase too).
    assert!(
        iface.tx_frames >= 8 * iface.tx_syscalls && iface.tx_syscalls > 0,
        "{} frames in {} calls",
        iface.tx_frames,
        iface.tx_syscalls
    );
}

// Issue 7: a batch larger than the pacer's chunk (32 frames) leaves in chunks on a 500 µs slot
// grid (daemon/pacer.rs), so the last adverts of a large burst do not wait behind the whole
// burst's delivery time. 64 instances in phase: two calls of 32 per round, not one of 64.
#[test]
fn a_large_batch_leaves_in_paced_chunks() {
    if skip_unless_root() {
        return;
    }
    let lab = AgentLab::new("bp", 2);
    let insts: Vec<Inst> = (1..=64u8)
        .map(|v| {
            Inst::v4(&format!("VI_{v}"), v, 100, &format!("198.51.100.{v}/32")).interval("100ms")
        })
        .collect();
    let a = lab.start(0, "1s", "", &insts);
    for v in 1..=64 {
        a.wait_state(&format!("VI_{v}"), "MASTER", Duration::from_secs(3))
            .unwrap();
    }
    let s0 = a.status().unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    let s1 = a.status().unwrap();
    let (i0, i1) = (&s0.interfaces[0], &s1.interfaces[0]);
    let frames = i1.tx_frames - i0.tx_frames;
    let calls = i1.tx_syscalls - i0.tx_syscalls;
    // Ten rounds of 64 adverts in one second.
    assert!(frames >= 9 * 64, "{frames} frames in 1 s");
    assert!(s1.instances.iter().all(|i| i.counters["tx_errors"] == 0));
    // 32 per call when paced (64 if not); a turn that runs a whole slot late sends the rest at
    // once, so allow some.
    let per_call = frames as f64 / calls.max(1) as f64;
    assert!(
        (16.0..=48.0).contains(&per_call),
        "{frames} frames in {calls} calls ({per_call:.1} per call)"
    );
}
