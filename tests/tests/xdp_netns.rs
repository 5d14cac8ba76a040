//! The data plane attached to a real interface: a client namespace and a router namespace joined
//! by veth (192.0.2.0/24, 2001:db8::/64). The router's XDP program, not its stack, answers ARP and
//! ND for the VIPs (which are not assigned to any interface): with the role Master the client sees
//! the virtual MAC; as Backup or with a stale heartbeat it gets no answer. Counters are checked.
//! The client's veth runs the empty `xdp_pass` program: XDP_TX frames from a veth are only
//! delivered when the peer has an XDP program (GRO on the peer was not enough here).

use std::time::Duration;

use vrrp_agent::xdp::{AttachMode, DataPlane, Prog};
use vrrp_common::{
    maps::{Heartbeat, Role},
    proto::Family,
    stats::Counter,
};
use vrrp_tests::{Netns, mac_of, veth};

const VIP4: &str = "192.0.2.100";
const VIP6: &str = "2001:db8::100";
const VRID: u8 = 51;

struct Lab {
    // Field order: the data plane is dropped (detached) before the namespaces are deleted.
    dp: DataPlane,
    _peer: DataPlane,
    client: Netns,
    _router: Netns,
}

fn lab(tag: &str) -> Lab {
    let client = Netns::new(&format!("{tag}c")).expect("client netns");
    let router = Netns::new(&format!("{tag}r")).expect("router netns");
    veth(&client, "vc0", &router, "vr0").expect("veth");
    client
        .exec(&["ip", "addr", "add", "192.0.2.10/24", "dev", "vc0"])
        .expect("addr");
    client
        .exec(&[
            "ip",
            "addr",
            "add",
            "2001:db8::10/64",
            "dev",
            "vc0",
            "nodad",
        ])
        .expect("addr6");
    router
        .exec(&["ip", "addr", "add", "192.0.2.1/24", "dev", "vr0"])
        .expect("addr");
    router
        .exec(&["ip", "addr", "add", "2001:db8::1/64", "dev", "vr0", "nodad"])
        .expect("addr6");
    let peer = client
        .enter(|| -> vrrp_agent::xdp::Result<DataPlane> {
            let mut p = DataPlane::load_unattached()?;
            p.attach_prog(Prog::Pass, "vc0", AttachMode::Auto)?;
            Ok(p)
        })
        .expect("enter client netns")
        .expect("xdp_pass on the client's veth");
    let if_mac = mac_of(&router, "vr0").expect("router MAC");
    let mut dp = router
        .enter(|| DataPlane::load("vr0", AttachMode::Auto))
        .expect("enter router netns")
        .expect("load and attach the data plane");
    dp.set_settings(if_mac, false).expect("settings");
    dp.set_router(Family::V4, VRID, Role::Master, 3, 0)
        .expect("router v4");
    dp.set_router(Family::V6, VRID, Role::Master, 3, 0)
        .expect("router v6");
    dp.add_vip(VIP4.parse().expect("vip"), VRID).expect("vip4");
    dp.add_vip(VIP6.parse().expect("vip"), VRID).expect("vip6");
    dp.refresh_heartbeat(Duration::from_secs(600))
        .expect("heartbeat");
    Lab {
        dp,
        _peer: peer,
        client,
        _router: router,
    }
}

fn arping(client: &Netns, count: &str) -> (bool, String) {
    let out = client
        .exec_status(&["arping", "-c", count, "-w", "2", "-I", "vc0", VIP4])
        .expect("run arping");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_lowercase(),
    )
}

fn ndisc6(client: &Netns, tries: &str) -> (bool, String) {
    let out = client
        .exec_status(&["ndisc6", "-r", tries, "-w", "500", VIP6, "vc0"])
        .expect("run ndisc6");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_lowercase(),
    )
}

fn stale(dp: &mut DataPlane) {
    dp.set_heartbeat(Heartbeat {
        last_ns: vrrp_agent::xdp::monotonic_ns() - 2_000_000_000,
        bound_ns: 1_000_000_000,
    })
    .expect("stale heartbeat");
}

#[test]
fn arp_for_the_vip_is_answered_with_the_vmac_only_while_master_and_fresh() {
    if !vrrp_tests::is_root() {
        vrrp_tests::skip("xdp_netns needs root for namespaces and XDP");
        return;
    }
    let mut lab = lab("xa");
    assert!(lab.dp.attached_mode().is_some());

    // Master: exactly one request, exactly one reply from 00:00:5e:00:01:33.
    let before = lab.dp.counters().expect("counters");
    let (ok, out) = arping(&lab.client, "1");
    let d = lab.dp.counters().expect("counters").delta(&before);
    assert!(ok, "arping got no reply as Master: {out}");
    assert!(
        out.contains("[00:00:5e:00:01:33]"),
        "reply not from the VMAC: {out}"
    );
    assert_eq!(d.get(Counter::ArpReplied), 1);

    // The client's neighbour table learns the VMAC for the VIP: a UDP datagram to the VIP (port 9,
    // discard) triggers resolution, then goes to the VMAC, where the data plane rewrites the
    // destination to the router's own MAC and passes it.
    let _ = lab.client.exec_status(&[
        "bash",
        "-c",
        "echo probe > /dev/udp/192.0.2.100/9; sleep 0.3",
    ]);
    let neigh = lab
        .client
        .exec(&["ip", "neigh", "show", VIP4, "dev", "vc0"])
        .expect("neigh");
    let neigh = String::from_utf8_lossy(&neigh.stdout).to_lowercase();
    assert!(
        neigh.contains("lladdr 00:00:5e:00:01:33"),
        "neighbour entry: {neigh}"
    );
    let d = lab.dp.counters().expect("counters").delta(&before);
    assert!(
        d.get(Counter::VmacMasterPassed) >= 1,
        "echo to the VMAC not passed: {d:?}"
    );

    // Backup: two requests, no reply, two drops.
    lab.dp
        .set_router(Family::V4, VRID, Role::Backup, 3, 0)
        .expect("backup");
    let before = lab.dp.counters().expect("counters");
    let (ok, out) = arping(&lab.client, "2");
    let d = lab.dp.counters().expect("counters").delta(&before);
    assert!(!ok, "arping got a reply from a Backup: {out}");
    assert_eq!(d.get(Counter::ArpDroppedBackup), 2);
    assert_eq!(d.get(Counter::ArpReplied), 0);

    // Master again but the agent stopped refreshing: no reply.
    lab.dp
        .set_router(Family::V4, VRID, Role::Master, 3, 0)
        .expect("master");
    stale(&mut lab.dp);
    let before = lab.dp.counters().expect("counters");
    let (ok, out) = arping(&lab.client, "2");
    let d = lab.dp.counters().expect("counters").delta(&before);
    assert!(!ok, "arping got a reply with a stale heartbeat: {out}");
    assert_eq!(d.get(Counter::ArpDroppedStale), 2);
    assert_eq!(d.get(Counter::ArpReplied), 0);

    // Detach: the program is gone; the router's stack does not own the VIP, so still no reply,
    // and the counters no longer move.
    lab.dp.detach().expect("detach");
    assert!(lab.dp.attached_mode().is_none());
    let before = lab.dp.counters().expect("counters");
    let (ok, _) = arping(&lab.client, "1");
    assert!(!ok);
    assert_eq!(lab.dp.counters().expect("counters"), before);
}

#[test]
fn neighbor_solicitation_for_the_vip_is_answered_with_the_vmac_only_while_master_and_fresh() {
    if !vrrp_tests::is_root() {
        vrrp_tests::skip("xdp_netns needs root for namespaces and XDP");
        return;
    }
    let mut lab = lab("xn");

    let before = lab.dp.counters().expect("counters");
    let (ok, out) = ndisc6(&lab.client, "1");
    let d = lab.dp.counters().expect("counters").delta(&before);
    assert!(ok, "ndisc6 got no advertisement as Master: {out}");
    assert!(
        out.contains("00:00:5e:00:02:33"),
        "NA not from the VMAC: {out}"
    );
    assert_eq!(d.get(Counter::NdReplied), 1);

    lab.dp
        .set_router(Family::V6, VRID, Role::Backup, 3, 0)
        .expect("backup");
    let before = lab.dp.counters().expect("counters");
    let (ok, out) = ndisc6(&lab.client, "2");
    let d = lab.dp.counters().expect("counters").delta(&before);
    assert!(!ok, "ndisc6 got an NA from a Backup: {out}");
    assert_eq!(d.get(Counter::NdDroppedBackup), 2);

    lab.dp
        .set_router(Family::V6, VRID, Role::Master, 3, 0)
        .expect("master");
    stale(&mut lab.dp);
    let before = lab.dp.counters().expect("counters");
    let (ok, out) = ndisc6(&lab.client, "2");
    let d = lab.dp.counters().expect("counters").delta(&before);
    assert!(!ok, "ndisc6 got an NA with a stale heartbeat: {out}");
    assert_eq!(d.get(Counter::NdDroppedStale), 2);
    assert_eq!(d.get(Counter::NdReplied), 0);
}

fn xdp_prog_id(ns: &Netns, dev: &str) -> Option<u32> {
    let out = ns.exec(&["ip", "-d", "link", "show", dev]).ok()?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let at = text.find("prog/xdp id ")?;
    text[at + "prog/xdp id ".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
fn attachment_outlives_the_agent_and_a_restart_replaces_it_atomically() {
    if !vrrp_tests::is_root() {
        vrrp_tests::skip("xdp_netns needs root for namespaces and XDP");
        return;
    }
    let client = Netns::new("xoc").expect("client netns");
    let router = Netns::new("xor").expect("router netns");
    veth(&client, "vc0", &router, "vr0").expect("veth");

    // A first agent attaches and "dies" (its data plane is dropped without detaching).
    let first = router
        .enter(|| -> vrrp_agent::xdp::Result<u32> {
            let mut dp = DataPlane::load("vr0", AttachMode::Auto)?;
            let id = dp.program_id(Prog::Vrrp)?;
            dp.leave_attached();
            Ok(id)
        })
        .expect("enter router netns")
        .expect("first data plane");
    assert_eq!(
        xdp_prog_id(&router, "vr0"),
        Some(first),
        "program stays after the agent"
    );

    // A restarted agent attaches over the orphan; dropping it detaches its own program.
    let second = router
        .enter(|| -> vrrp_agent::xdp::Result<u32> {
            let dp = DataPlane::load("vr0", AttachMode::Auto)?;
            dp.program_id(Prog::Vrrp)
        })
        .expect("enter router netns")
        .expect("second data plane");
    assert_ne!(second, first);
    // The second data plane was dropped inside the closure (clean shutdown): nothing attached.
    assert_eq!(xdp_prog_id(&router, "vr0"), None);

    // Replacement itself, observed while the second agent runs.
    let (replaced_by, id) = {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (done_tx, done_rx) = std::sync::mpsc::channel::<u32>();
        let path = format!("/run/netns/{}", router.name());
        let h = std::thread::spawn(move || {
            let f = std::fs::File::open(&path).expect("netns file");
            nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            let mut orphan = DataPlane::load("vr0", AttachMode::Auto).expect("orphan");
            orphan.leave_attached();
            drop(orphan);
            let dp = DataPlane::load("vr0", AttachMode::Auto).expect("restart");
            done_tx
                .send(dp.program_id(Prog::Vrrp).expect("id"))
                .expect("send");
            rx.recv().expect("wait");
            drop(dp);
        });
        let id = done_rx.recv().expect("id");
        let seen = xdp_prog_id(&router, "vr0");
        tx.send(()).expect("release");
        h.join().expect("thread");
        (seen, id)
    };
    assert_eq!(
        replaced_by,
        Some(id),
        "the restarted agent's program replaced the orphan"
    );
    assert_eq!(xdp_prog_id(&router, "vr0"), None, "clean shutdown detaches");
}
