//! Orchestration only: test, demo, run, bench, fuzz, guest, guest-test. `./x` runs
//! scripts/setup.sh first, so every toolchain and package named there is present when these run.

mod guest;

use std::{path::PathBuf, process::Command};

use anyhow::{Context as _, Result, bail};
use clap::{Parser, Subcommand};

/// Must match NIGHTLY in scripts/setup.sh and vrrp-agent/build.rs.
const NIGHTLY: &str = "nightly-2026-10-30";

#[derive(Parser)]
#[command(about = "Build, test, run and benchmark the VRRP agent")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every check and test: rustfmt, clippy (host and eBPF), unit, kernel and namespace tests,
    /// then the IPVS tests in a guest kernel (QEMU).
    Test {
        /// Skip rustfmt and clippy.
        #[arg(long)]
        no_lint: bool,
    },
    /// The lab: routers running the agent and a client in network namespaces.
    Demo,
    /// Build the agent and run it as root with the given arguments.
    Run {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Benchmarks: print figures (never fail on a threshold).
    Bench {
        /// A few seconds per item (what CI runs so the harness cannot rot).
        #[arg(long)]
        quick: bool,
        /// Only bench-ipvs (host round trip, then the guest).
        #[arg(long)]
        ipvs_only: bool,
    },
    /// Run a file from the host (copied in) or a command as root in the IPVS guest kernel.
    Guest {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
        args: Vec<String>,
    },
    /// Only the IPVS guest step of `test`: build the guest test binaries and run them in one
    /// guest (all of GUEST_TESTS, or the test binaries named, e.g. `ipvs_worker`).
    GuestTest {
        /// Test binary names (`[[test]]` targets) to run; all when none.
        only: Vec<String>,
    },
    /// Fuzz the VRRP decoder with cargo-fuzz for a while.
    Fuzz {
        #[arg(long, default_value_t = 60)]
        seconds: u64,
    },
}

fn main() -> std::process::ExitCode {
    // Errors are reports for people: the message chain, not a backtrace.
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Test { no_lint } => test(no_lint),
        Cmd::Demo => demo(),
        Cmd::Run { args } => run_agent(&args),
        Cmd::Bench { quick, ipvs_only } => {
            if ipvs_only {
                bench_ipvs(quick)
            } else {
                bench(quick)
            }
        }
        Cmd::Fuzz { seconds } => fuzz(seconds),
        Cmd::Guest { args } => guest::run_command(&args),
        Cmd::GuestTest { only } => guest_test(&only),
    }
}

/// Runs a command, echoing it, and fails with its exit status.
fn sh(cmd: &mut Command) -> Result<()> {
    eprintln!("xtask: {}", render(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("spawn {}", render(cmd)))?;
    if !status.success() {
        bail!("`{}` failed: {status}", render(cmd));
    }
    Ok(())
}

fn render(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// The workspace's root directory (xtask's parent).
fn workspace_root() -> PathBuf {
    let xtask = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask.parent().map_or(xtask.clone(), PathBuf::from)
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

fn test(no_lint: bool) -> Result<()> {
    if !no_lint {
        sh(cargo().args(["fmt", "--all", "--check"]))?;
        sh(cargo().args([
            "clippy",
            "--workspace",
            "--exclude",
            "vrrp-ebpf",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))?;
        sh(Command::new("cargo").args([
            &format!("+{NIGHTLY}"),
            "clippy",
            "--package",
            "vrrp-ebpf",
            "--target",
            "bpfel-unknown-none",
            "-Z",
            "build-std=core",
            "--",
            "-D",
            "warnings",
        ]))?;
    }
    if !is_root() {
        bail!("the tests attach XDP programs and make network namespaces: run them as root");
    }
    // Kernel- and namespace-level tests share global kernel state: one thread per binary.
    let mut cmd = cargo();
    cmd.args([
        "test",
        "--workspace",
        "--exclude",
        "vrrp-ebpf",
        "--no-fail-fast",
        "--",
        "--test-threads=1",
    ]);
    let (mut passed, mut failed, ok) = run_counting(&mut cmd)?;
    // The host kernel has no IPVS: those tests run in a guest kernel, one boot for them all.
    let started = std::time::Instant::now();
    let guest_failure = match guest::build_tests().and_then(|bins| guest::run_tests(&bins)) {
        Ok((report, failure)) => {
            passed += report.passed;
            failed += report.failed;
            failure
        }
        Err(e) => Some(format!("{e:#}")),
    };
    eprintln!(
        "xtask: IPVS guest step took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // One closing line for every runner's results together.
    println!("tests: {passed} passed, {failed} failed");
    if let Some(why) = guest_failure {
        let host = if ok { "" } else { "host tests failed too; " };
        bail!("{host}IPVS guest tests failed: {why}");
    }
    if !ok || failed > 0 {
        bail!("tests failed");
    }
    if passed == 0 {
        bail!("no test ran");
    }
    Ok(())
}

/// `cargo xtask guest-test [NAME...]`: the guest step of `test` alone.
fn guest_test(only: &[String]) -> Result<()> {
    let started = std::time::Instant::now();
    let bins = guest::build(&guest::select(only)?)?;
    let (report, failure) = guest::run_tests(&bins)?;
    eprintln!(
        "xtask: IPVS guest step took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("tests: {} passed, {} failed", report.passed, report.failed);
    if let Some(why) = failure {
        bail!("IPVS guest tests failed: {why}");
    }
    if report.passed == 0 {
        bail!("no test ran");
    }
    Ok(())
}

/// Runs `cargo test`, echoing its output, and adds up the `test result:` lines of every binary.
fn run_counting(cmd: &mut Command) -> Result<(u64, u64, bool)> {
    use std::io::BufRead as _;
    eprintln!("xtask: {}", render(cmd));
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("spawn {}", render(cmd)))?;
    let (mut passed, mut failed) = (0u64, 0u64);
    if let Some(out) = child.stdout.take() {
        for line in std::io::BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                passed += count_before(rest, " passed");
                failed += count_before(rest, " failed");
            }
        }
    }
    let status = child.wait()?;
    Ok((passed, failed, status.success()))
}

/// The number just before `label` in a `test result:` line (`ok. 5 passed; 0 failed; ...`).
fn count_before(line: &str, label: &str) -> u64 {
    line.find(label)
        .and_then(|end| line[..end].rsplit([' ', '.']).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The agent and the lab/benchmark binaries, optimised.
fn build_release() -> Result<()> {
    sh(cargo().args([
        "build",
        "--release",
        "--package",
        "vrrp-agent",
        "--package",
        "vrrp-tests",
    ]))
}

fn demo() -> Result<()> {
    build_release()?;
    sh(&mut Command::new("target/release/lab"))
}

fn run_agent(args: &[String]) -> Result<()> {
    sh(cargo().args(["build", "--release", "--package", "vrrp-agent"]))?;
    let mut cmd = if is_root() {
        Command::new("target/release/vrrp-agent")
    } else {
        let mut c = Command::new("sudo");
        c.arg("target/release/vrrp-agent");
        c
    };
    sh(cmd.args(args))
}

fn bench(quick: bool) -> Result<()> {
    build_release()?;
    for bin in [
        "bench-xdp",
        "bench-arp",
        "bench-scale",
        "bench-flood",
        "bench-failover",
        "bench-health",
    ] {
        let mut cmd = Command::new(format!("target/release/{bin}"));
        if quick {
            cmd.arg("--quick");
        }
        sh(&mut cmd)?;
    }
    bench_ipvs(quick)
}

/// bench-ipvs: the generic-netlink round trip on the host (which has no IPVS), then the whole
/// bench in the IPVS guest told that figure, so it prints its slowdown factor against the host
/// and host estimates of the reconcile times (1,000 and 10,000 destinations).
fn bench_ipvs(quick: bool) -> Result<()> {
    sh(cargo().args([
        "build",
        "--release",
        "--package",
        "vrrp-ipvs",
        "--bin",
        "bench-ipvs",
    ]))?;
    let bin = workspace_root().join("target/release/bench-ipvs");
    let mut host = Command::new(&bin);
    host.arg("--rtt-only");
    if quick {
        host.arg("--quick");
    }
    eprintln!("xtask: {}", render(&host));
    let out = host
        .output()
        .with_context(|| format!("spawn {}", render(&host)))?;
    if !out.status.success() {
        bail!("`{}` failed: {}", render(&host), out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let rtt = host_rtt_us(&text)
        .with_context(|| format!("no genl-rtt-us= in the output of {}: {text}", render(&host)))?;
    println!("bench-ipvs: host generic-netlink round trip {rtt:.2} us");
    let mut args = vec![bin.to_string_lossy().into_owned()];
    if quick {
        args.push("--quick".into());
    }
    args.extend(["--host-rtt-us".into(), format!("{rtt:.3}")]);
    let started = std::time::Instant::now();
    guest::run_command(&args)?;
    eprintln!(
        "xtask: bench-ipvs in the guest took {:.1} s (boot included)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The figure of a `genl-rtt-us=12.34` line.
fn host_rtt_us(text: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.trim().strip_prefix("genl-rtt-us="))
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| *v > 0.0)
}

fn fuzz(seconds: u64) -> Result<()> {
    let have = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        sh(Command::new("cargo").args(["install", "--locked", "--quiet", "cargo-fuzz"]))?;
    }
    sh(Command::new("cargo").current_dir("fuzz").args([
        &format!("+{NIGHTLY}"),
        "fuzz",
        "run",
        "decode",
        "--",
        &format!("-max_total_time={seconds}"),
    ]))
}

#[cfg(test)]
mod tests {
    use super::{count_before, host_rtt_us};

    #[test]
    fn host_round_trip_is_read_from_bench_ipvs() {
        assert_eq!(host_rtt_us("genl-rtt-us=12.50\n"), Some(12.5));
        assert_eq!(host_rtt_us("nothing"), None);
        assert_eq!(host_rtt_us("genl-rtt-us=0"), None);
    }

    #[test]
    fn counts_are_read_from_cargo_test_result_lines() {
        let l =
            "FAILED. 46 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out; finished in 2.78s";
        assert_eq!(count_before(l, " passed"), 46);
        assert_eq!(count_before(l, " failed"), 3);
        assert_eq!(count_before("ok. 0 passed; 0 failed;", " passed"), 0);
    }
}
