//! Smoke test of the IPVS guest (scripts/ipvs-vm.sh, run by `cargo xtask test`): the kernel has
//! IPVS, ipvsadm drives it, and a network namespace has its own IPVS table. Ignored on the host,
//! whose kernel has no IPVS.

use std::process::Command;

/// Runs ipvsadm, returning its stdout; panics with its stderr when it fails.
fn ipvsadm(args: &[&str]) -> String {
    let out = Command::new("ipvsadm")
        .args(args)
        .output()
        .expect("spawn ipvsadm");
    assert!(
        out.status.success(),
        "ipvsadm {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore = "needs IPVS: runs in the guest"]
fn ipvsadm_adds_a_masq_service_in_its_own_namespace() {
    // A namespace of its own on a thread of its own: processes spawned from this thread inherit
    // it, and it vanishes with the thread, so nothing is left behind even on failure.
    let listing = std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare(CLONE_NEWNET)");
        // /proc/net is the process's (main thread's) namespace; thread-self is this one.
        let table = std::fs::read_to_string("/proc/thread-self/net/ip_vs")
            .expect("/proc/net/ip_vs: is IPVS in this kernel?");
        assert!(
            table.starts_with("IP Virtual Server version"),
            "unexpected /proc/net/ip_vs: {table}"
        );
        // lo up creates the namespace's local routing table; without it every address type is
        // RTN_BROADCAST to IPVS, which refuses real servers with EINVAL.
        let lo = Command::new("ip")
            .args(["link", "set", "lo", "up"])
            .status();
        assert!(
            lo.as_ref().is_ok_and(|s| s.success()),
            "ip link set lo up: {lo:?}"
        );
        ipvsadm(&["-A", "-t", "192.0.2.1:80", "-s", "rr"]);
        ipvsadm(&["-a", "-t", "192.0.2.1:80", "-r", "198.51.100.2:80", "-m"]);
        ipvsadm(&["-Ln"])
    })
    .join()
    .expect("namespace thread panicked");

    let lines: Vec<&str> = listing.lines().map(str::trim).collect();
    let svc = lines
        .iter()
        .position(|l| l.split_whitespace().collect::<Vec<_>>() == ["TCP", "192.0.2.1:80", "rr"])
        .unwrap_or_else(|| panic!("no TCP 192.0.2.1:80 rr service in:\n{listing}"));
    let real: Vec<&str> = lines
        .get(svc + 1)
        .map(|l| l.split_whitespace().collect())
        .unwrap_or_default();
    assert_eq!(
        real.get(..4),
        Some(&["->", "198.51.100.2:80", "Masq", "1"][..]),
        "real server line after the service in:\n{listing}"
    );

    // The initial namespace's table never saw it.
    let outside = ipvsadm(&["-Ln"]);
    assert!(
        !outside.contains("192.0.2.1:80"),
        "the service leaked out of its namespace:\n{outside}"
    );
}
