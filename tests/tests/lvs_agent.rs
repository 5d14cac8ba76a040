//! The agent's LVS side end to end: a real vrrp-agent process with virtual servers, real TCP
//! servers started by the test inside the agent's network namespace, health checks moving them
//! in and out. Where the kernel has IPVS (the QEMU guest, `cargo xtask test`), the kernel table
//! is cross-checked with `ipvsadm -Ln`; on the host (no IPVS) the agent must keep running,
//! report IPVS as unavailable and still show health in `status`.

use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsFd as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use vrrp_agent::daemon::status::{RealServerStatus, Status};
use vrrp_tests::agent::Agent;
use vrrp_tests::topo::{Netns, is_root, unique_prefix, wait_for};

/// A TCP server on `addr` inside a namespace that accepts and closes connections until dropped
/// (then the port refuses: a failed real server).
struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(ns: &Netns, addr: &str) -> Server {
        let addr: SocketAddr = addr.parse().expect("address");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let path = PathBuf::from("/run/netns").join(&ns.name);
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let f = std::fs::File::open(&path).expect("open netns");
            nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            // The socket belongs to the namespace it was made in, whichever thread uses it.
            let l = match TcpListener::bind(addr) {
                Ok(l) => l,
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                    return;
                }
            };
            l.set_nonblocking(true).expect("nonblocking");
            let _ = tx.send(Ok(()));
            while !flag.load(Ordering::Relaxed) {
                match l.accept() {
                    Ok((c, _)) => drop(c),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        rx.recv()
            .expect("listener thread")
            .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        Server {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A namespace with lo up and 127.0.0.0/8 on it, and a directory for the agent under /run.
fn setup(tag: &str) -> (Netns, PathBuf) {
    use std::os::unix::fs::PermissionsExt as _;
    let ns = Netns::new(&unique_prefix(tag)).expect("netns");
    let dir = PathBuf::from("/run").join(format!("vrrp-test-{}", ns.name));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (ns, dir)
}

/// An LVS-only config (no VRRP instance): one TCP service with three real servers, checked
/// every 100 ms.
fn config(dir: &Path, on_stop: &str, weight_a: u32) -> String {
    format!(
        "global:
  router_id: lvs-test
  control_socket: {sock}
lvs:
  program_on: all_nodes
  on_stop: {on_stop}
virtual_servers:
  web:
    address: 192.0.2.10
    port: 80
    protocol: tcp
    scheduler: wrr
    forwarding: nat
    delay_loop: 100ms
    check:
      type: tcp
      timeout: 100ms
      retries: 0
      rise: 2
      fall: 2
    real_servers:
      - address: 127.0.0.2
        port: 8080
        weight: {weight_a}
      - address: 127.0.0.3
        port: 8080
        weight: 2
        inhibit_on_failure: true
      - address: 127.0.0.4
        port: 8080
        weight: 1
",
        sock = dir.join("control.sock").display()
    )
}

fn real_server(st: &Status, addr: &str) -> Option<RealServerStatus> {
    st.lvs
        .as_ref()?
        .virtual_servers
        .iter()
        .flat_map(|v| v.real_servers.iter())
        .find(|r| r.address == addr)
        .cloned()
}

/// Waits until `f` holds on the agent's status; panics with the status and log otherwise.
fn wait_status(agent: &Agent, what: &str, f: impl Fn(&Status) -> bool) -> Status {
    if let Some(st) = wait_for(Duration::from_secs(10), || {
        agent.status().ok().filter(|s| f(s))
    }) {
        return st;
    }
    panic!(
        "{what}: not reached; status: {:?}\nlog:\n{}",
        agent.status().ok().map(|s| s.render()),
        agent.proc.log_text()
    );
}

fn healthy(st: &Status, addr: &str) -> Option<bool> {
    real_server(st, addr).map(|r| r.healthy)
}

#[test]
fn health_checks_move_real_servers_and_status_shows_them() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let (ns, dir) = setup("lvh");
    let a = Server::start(&ns, "127.0.0.2:8080");
    let _b = Server::start(&ns, "127.0.0.3:8080");
    let agent = Agent::start(&ns, &dir, &config(&dir, "remove", 3)).expect("agent");

    // .2 and .3 answer; .4 refuses: down after `fall` = 2 checks.
    let st = wait_status(&agent, "initial health", |s| {
        healthy(s, "127.0.0.2:8080") == Some(true)
            && healthy(s, "127.0.0.3:8080") == Some(true)
            && healthy(s, "127.0.0.4:8080") == Some(false)
    });
    let down = real_server(&st, "127.0.0.4:8080").expect("rs");
    assert!(
        down.detail
            .as_deref()
            .is_some_and(|d| d.contains("refused")),
        "detail of a refusing server: {down:?}"
    );
    let l = st.lvs.as_ref().expect("lvs status");
    assert_eq!(l.virtual_servers[0].service, "TCP 192.0.2.10:80");
    assert!(l.virtual_servers[0].quorum_held);
    if !l.ipvs_available {
        assert!(
            l.last_error.is_some(),
            "IPVS unavailable must come with the reason: {l:?}"
        );
    }

    // The server on .2 dies: down after fall; back after rise once it returns.
    drop(a);
    wait_status(&agent, ".2 down", |s| {
        healthy(s, "127.0.0.2:8080") == Some(false)
    });
    let _a = Server::start(&ns, "127.0.0.2:8080");
    let st = wait_status(&agent, ".2 back", |s| {
        healthy(s, "127.0.0.2:8080") == Some(true)
    });
    let r = real_server(&st, "127.0.0.2:8080").expect("rs");
    assert!(r.checks >= 4 && r.failures >= 2, "check counters: {r:?}");

    // The human-readable status names the service and each server's health.
    let out = Command::new(vrrp_tests::agent::agent_binary())
        .args(["status", "--socket"])
        .arg(agent.socket())
        .output()
        .expect("vrrp-agent status");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("TCP 192.0.2.10:80")
            && text.contains("127.0.0.4:8080")
            && text.contains("DOWN"),
        "status text:\n{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- with a real IPVS kernel (the guest) ---------------------------------------------------

/// `ipvsadm ARGS` inside `ns`.
fn ipvsadm(ns: &Netns, args: &[&str]) -> String {
    let mut argv = vec!["ipvsadm"];
    argv.extend_from_slice(args);
    ns.exec(&argv)
        .unwrap_or_else(|e| panic!("ipvsadm {args:?}: {e}"))
}

/// The real servers of TCP 192.0.2.10:80 as ipvsadm lists them: (address:port, method, weight).
fn listed(ns: &Netns) -> Vec<(String, String, u32)> {
    let out = ipvsadm(ns, &["-Ln", "-t", "192.0.2.10:80"]);
    out.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.first() == Some(&"->") && w.len() >= 4 && w[1] != "RemoteAddress:Port").then(|| {
                (
                    w[1].to_string(),
                    w[2].to_string(),
                    w[3].parse().unwrap_or(u32::MAX),
                )
            })
        })
        .collect()
}

fn wait_listed(ns: &Netns, agent: &Agent, what: &str, want: &[(&str, u32)]) {
    let ok = wait_for(Duration::from_secs(10), || {
        let mut have: Vec<(String, u32)> = listed(ns).into_iter().map(|(a, _, w)| (a, w)).collect();
        have.sort();
        let mut want: Vec<(String, u32)> = want.iter().map(|(a, w)| (a.to_string(), *w)).collect();
        want.sort();
        (have == want).then_some(())
    });
    if ok.is_none() {
        panic!(
            "{what}: kernel table is\n{}\nwanted {want:?}\nstatus: {:?}\nlog:\n{}",
            ipvsadm(ns, &["-Ln"]),
            agent.status().ok().map(|s| s.render()),
            agent.proc.log_text()
        );
    }
}

/// SIGTERM, a clean exit within 15 s, then the kernel table as `ipvsadm -Ln` lists it.
fn stop(agent: &mut Agent, ns: &Netns) -> String {
    agent.proc.signal(libc::SIGTERM);
    assert_eq!(
        agent.proc.wait_exit(Duration::from_secs(15)).expect("exit"),
        Some(0)
    );
    ipvsadm(ns, &["-Ln"])
}

#[test]
#[ignore = "needs IPVS: runs in the guest (cargo xtask test)"]
fn ipvs_table_follows_health_leaves_foreign_services_and_is_removed_on_stop() {
    let (ns, dir) = setup("lvi");
    // A service the agent does not own: it must survive everything below.
    ipvsadm(&ns, &["-A", "-t", "198.51.100.1:443", "-s", "rr"]);
    ipvsadm(
        &ns,
        &[
            "-a",
            "-t",
            "198.51.100.1:443",
            "-r",
            "127.0.0.9:443",
            "-m",
            "-w",
            "7",
        ],
    );
    let a = Server::start(&ns, "127.0.0.2:8080");
    let b = Server::start(&ns, "127.0.0.3:8080");
    let mut agent = Agent::start(&ns, &dir, &config(&dir, "remove", 3)).expect("agent");

    // .4 never answers: it leaves the table (it starts up, as in keepalived, then falls).
    wait_listed(
        &ns,
        &agent,
        "initial",
        &[("127.0.0.2:8080", 3), ("127.0.0.3:8080", 2)],
    );
    assert!(
        listed(&ns).iter().all(|(_, m, _)| m == "Masq"),
        "forwarding: {:?}",
        listed(&ns)
    );
    // .2 fails: removed. .3 fails: inhibit_on_failure keeps it at weight 0.
    drop(a);
    drop(b);
    wait_listed(&ns, &agent, "both failed", &[("127.0.0.3:8080", 0)]);
    // Both back.
    let _a = Server::start(&ns, "127.0.0.2:8080");
    let _b = Server::start(&ns, "127.0.0.3:8080");
    wait_listed(
        &ns,
        &agent,
        "both back",
        &[("127.0.0.2:8080", 3), ("127.0.0.3:8080", 2)],
    );
    let st = agent.status().expect("status");
    let l = st.lvs.as_ref().expect("lvs");
    assert!(l.ipvs_available && l.in_sync, "worker state: {l:?}");
    assert_eq!(
        real_server(&st, "127.0.0.2:8080").and_then(|r| r.kernel_weight),
        Some(3)
    );

    // Reload with another weight: an edit in place.
    std::fs::write(&agent.config, config(&dir, "remove", 5)).expect("write config");
    agent.proc.signal(libc::SIGHUP);
    wait_listed(
        &ns,
        &agent,
        "after reload",
        &[("127.0.0.2:8080", 5), ("127.0.0.3:8080", 2)],
    );

    // SIGTERM with on_stop: remove: our service goes, the foreign one stays as it was.
    let all = stop(&mut agent, &ns);
    assert!(
        !all.contains("192.0.2.10:80"),
        "our service left behind:\n{all}"
    );
    assert!(
        all.contains("198.51.100.1:443") && all.contains("127.0.0.9:443"),
        "foreign service touched:\n{all}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs IPVS: runs in the guest (cargo xtask test)"]
fn on_stop_keep_leaves_the_table_and_a_restart_adopts_it() {
    let (ns, dir) = setup("lvk");
    let _a = Server::start(&ns, "127.0.0.2:8080");
    let _b = Server::start(&ns, "127.0.0.3:8080");
    let mut agent = Agent::start(&ns, &dir, &config(&dir, "keep", 3)).expect("agent");
    wait_listed(
        &ns,
        &agent,
        "initial",
        &[("127.0.0.2:8080", 3), ("127.0.0.3:8080", 2)],
    );
    stop(&mut agent, &ns);
    // Kept while the agent is away: traffic is not disturbed by a restart.
    wait_listed(
        &ns,
        &agent,
        "kept after stop",
        &[("127.0.0.2:8080", 3), ("127.0.0.3:8080", 2)],
    );
    // A new agent with a changed config adopts the marked service and edits it.
    let yaml = config(&dir, "remove", 4);
    drop(agent);
    let _ = std::fs::remove_file(dir.join("control.sock"));
    let mut agent = Agent::start(&ns, &dir, &yaml).expect("agent restart");
    wait_listed(
        &ns,
        &agent,
        "adopted",
        &[("127.0.0.2:8080", 4), ("127.0.0.3:8080", 2)],
    );
    let all = stop(&mut agent, &ns);
    assert!(
        !all.contains("192.0.2.10:80"),
        "service left behind:\n{all}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- quorum and program_on: master, with a VRRP instance (host: no IPVS needed) -------------

/// The first virtual server's status.
fn vs_status(st: &Status) -> vrrp_agent::daemon::status::VirtualServerStatus {
    st.lvs.as_ref().expect("lvs status").virtual_servers[0].clone()
}

#[test]
fn quorum_moves_the_priority_and_program_on_master_follows_the_role() {
    if !is_root() {
        eprintln!("skipped: needs root");
        return;
    }
    let lab = vrrp_tests::agent::AgentLab::new("lvq", 2);
    let ns = &lab.lan.hosts[0];
    let dir = lab.host_dir(0);
    let _a = Server::start(ns, "127.0.0.2:8080");
    let mut yaml = vrrp_tests::agent::render_config(
        &dir,
        "3s",
        "",
        &[vrrp_tests::agent::Inst::v4(
            "VI_L",
            10,
            150,
            "192.0.2.100/24",
        )],
    );
    yaml.push_str(
        "lvs:
  program_on: master
virtual_servers:
  web:
    address: 192.0.2.100
    port: 80
    instance: VI_L
    quorum: 2
    quorum_weight: -50
    delay_loop: 100ms
    check: {type: tcp, timeout: 100ms, retries: 0}
    real_servers:
      - {address: 127.0.0.2, port: 8080}
      - {address: 127.0.0.3, port: 8080}
",
    );
    let agent = Agent::start(ns, &dir, &yaml).expect("agent");
    agent
        .wait_state("VI_L", "MASTER", Duration::from_secs(10))
        .expect("master");
    // One of two servers (weight 1 each) is up: quorum 2 is lost; the priority drops by 50.
    let st = wait_status(&agent, "quorum lost", |s| {
        !vs_status(s).quorum_held
            && s.instances[0].effective_priority == 100
            && vs_status(s).programmed
    });
    assert_eq!(vs_status(&st).alive_weight, 1);
    // The second server comes up: quorum is back, and so is the priority.
    let _b = Server::start(ns, "127.0.0.3:8080");
    wait_status(&agent, "quorum regained", |s| {
        vs_status(s).quorum_held && s.instances[0].effective_priority == 150
    });
    // With IPVS (the guest), the kernel table holds the service while Master.
    let kernel = |present: bool| {
        if st.lvs.as_ref().is_some_and(|l| l.ipvs_available) {
            let ok = wait_for(Duration::from_secs(10), || {
                (ipvsadm(ns, &["-Ln"]).contains("192.0.2.100:80") == present).then_some(())
            });
            assert!(
                ok.is_some(),
                "service present={present} expected; table:\n{}",
                ipvsadm(ns, &["-Ln"])
            );
        }
    };
    kernel(true);
    // The link goes down: FAULT, and with program_on: master the service leaves the table.
    lab.lan.set_cable(0, false).expect("cable");
    wait_status(&agent, "not programmed in FAULT", |s| {
        s.instances[0].state == "FAULT" && !vs_status(s).programmed
    });
    kernel(false);
    lab.lan.set_cable(0, true).expect("cable");
    wait_status(&agent, "programmed again as Master", |s| {
        s.instances[0].state == "MASTER" && vs_status(s).programmed
    });
    kernel(true);
}
