//! The IPVS guest: builds the test binaries that need a kernel with IPVS, runs them all in one
//! QEMU guest (scripts/ipvs-vm.sh) and reads their results off the guest console.

use std::{
    io::BufRead as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, Result, bail};

use crate::{cargo, count_before, render};

/// Test binaries (package, `[[test]]` name) that need IPVS, which the host kernel lacks. Their
/// tests are `#[ignore]`d on the host and run in the guest with `--include-ignored`, so every test
/// in them must be able to run there: root, busybox, bash, `ip`, `ipvsadm`, no network card.
pub const GUEST_TESTS: &[(&str, &str)] = &[
    ("vrrp-tests", "guest_smoke"),
    ("vrrp-ipvs", "kernel"),
    ("vrrp-agent", "ipvs_worker"),
    ("vrrp-tests", "lvs_agent"),
];

/// Test binaries that start the vrrp-agent binary: it goes into the guest beside them
/// (tests/src/agent.rs looks beside the test executable), stripped of debug info to keep the
/// initramfs small.
const NEEDS_AGENT: &[&str] = &["lvs_agent"];

/// What a guest run takes: the test binaries to run, and other files they need.
#[derive(Debug, Default)]
pub struct Payload {
    pub tests: Vec<PathBuf>,
    pub files: Vec<PathBuf>,
}

/// Printed by the guest after each test binary: `VRRP-VM-TEST <file name> EXIT=<status>`.
const TEST_MARKER: &str = "VRRP-VM-TEST ";
/// Printed by the guest's /init when the command ends (scripts/ipvs-vm.sh).
const EXIT_MARKER: &str = "VRRP-VM-EXIT=";
/// scripts/ipvs-vm.sh's status when the guest reported none (kernel panic, timeout).
const NO_REPORT: i32 = 97;

fn script() -> PathBuf {
    crate::workspace_root().join("scripts/ipvs-vm.sh")
}

/// What one guest run reported.
#[derive(Debug, Default, PartialEq)]
pub struct Report {
    pub passed: u64,
    pub failed: u64,
    /// Exit status of each test binary, by file name, in the order they ran.
    pub binaries: Vec<(String, i32)>,
    /// The guest command's status, when the guest printed it.
    pub exit: Option<i32>,
}

impl Report {
    /// Takes in one console line.
    pub fn read_line(&mut self, line: &str) {
        if let Some(rest) = line.strip_prefix("test result: ") {
            self.passed += count_before(rest, " passed");
            self.failed += count_before(rest, " failed");
        } else if let Some(rest) = line.strip_prefix(TEST_MARKER) {
            if let Some((name, status)) = rest.split_once(" EXIT=")
                && let Ok(status) = status.trim().parse()
            {
                self.binaries.push((name.to_string(), status));
            }
        } else if let Some(rest) = line.strip_prefix(EXIT_MARKER) {
            self.exit = rest.split_whitespace().next().and_then(|s| s.parse().ok());
        }
    }

    /// Why this run failed, given the binaries that should have run; `None` when all passed.
    pub fn failure(&self, expected: &[String]) -> Option<String> {
        let Some(exit) = self.exit else {
            return Some("the guest reported no exit status (kernel panic or timeout)".into());
        };
        let mut why = Vec::new();
        for name in expected {
            match self.binaries.iter().find(|(n, _)| n == name) {
                None => why.push(format!("{name} did not run")),
                Some((_, 0)) => {}
                Some((_, s)) => why.push(format!("{name} exited {s}")),
            }
        }
        if why.is_empty() && exit != 0 {
            why.push(format!("the guest command exited {exit}"));
        }
        (!why.is_empty()).then(|| why.join(", "))
    }
}

/// Builds the `GUEST_TESTS` binaries and returns their paths.
pub fn build_tests() -> Result<Payload> {
    build(GUEST_TESTS)
}

/// Builds the agent and writes a copy without debug info to target/guest/vrrp-agent.
fn agent_binary() -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.args(["build", "-p", "vrrp-agent", "--bin", "vrrp-agent"]);
    eprintln!("xtask: {}", render(&cmd));
    if !cmd
        .status()
        .with_context(|| format!("spawn {}", render(&cmd)))?
        .success()
    {
        bail!("`{}` failed", render(&cmd));
    }
    let root = crate::workspace_root();
    let dir = root.join("target/guest");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let out = dir.join("vrrp-agent");
    let mut strip = Command::new("objcopy");
    strip
        .arg("--strip-debug")
        .arg(root.join("target/debug/vrrp-agent"))
        .arg(&out);
    if !strip.status().context("spawn objcopy")?.success() {
        bail!("`{}` failed", render(&strip));
    }
    Ok(out)
}

/// The `GUEST_TESTS` entries named by `only` (test target names; all when empty).
pub fn select(only: &[String]) -> Result<Vec<(&'static str, &'static str)>> {
    if let Some(unknown) = only
        .iter()
        .find(|n| !GUEST_TESTS.iter().any(|(_, t)| t == n))
    {
        let known: Vec<&str> = GUEST_TESTS.iter().map(|(_, t)| *t).collect();
        bail!(
            "no guest test binary {unknown:?} (known: {})",
            known.join(", ")
        );
    }
    Ok(GUEST_TESTS
        .iter()
        .filter(|(_, t)| only.is_empty() || only.iter().any(|n| n == t))
        .copied()
        .collect())
}

/// Builds the given test binaries (package, `[[test]]` name) and what they need in the guest.
pub fn build(tests: &[(&str, &str)]) -> Result<Payload> {
    let mut bins = Vec::new();
    for (pkg, test) in tests {
        let mut cmd = cargo();
        cmd.args(["test", "--no-run", "--message-format=json", "-p", pkg])
            .args(["--test", test]);
        eprintln!("xtask: {}", render(&cmd));
        let out = cmd
            .stderr(Stdio::inherit())
            .output()
            .with_context(|| format!("spawn {}", render(&cmd)))?;
        if !out.status.success() {
            bail!("`{}` failed: {}", render(&cmd), out.status);
        }
        let exe = executable(&String::from_utf8_lossy(&out.stdout), test)
            .with_context(|| format!("cargo built no test executable {pkg}:{test}"))?;
        bins.push(exe);
    }
    let files = if tests.iter().any(|(_, t)| NEEDS_AGENT.contains(t)) {
        vec![agent_binary()?]
    } else {
        Vec::new()
    };
    Ok(Payload { tests: bins, files })
}

/// The executable of test target `test` in cargo's `--message-format=json` output.
fn executable(json_lines: &str, test: &str) -> Option<PathBuf> {
    json_lines
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == test)
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "test"))
        })
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
}

/// Runs every test binary in one guest, one thread each, ignored tests included, streaming the
/// console. Returns what the guest reported and, unless each binary ran and passed, why not.
pub fn run_tests(payload: &Payload) -> Result<(Report, Option<String>)> {
    let bins = &payload.tests;
    let names: Vec<String> = bins.iter().map(|b| file_name(b)).collect::<Result<_>>()?;
    let list: Vec<String> = names.iter().map(|n| shell_quote(n)).collect();
    let guest_cmd = format!(
        "rc=0; for b in {}; do ./\"$b\" --include-ignored --test-threads=1; r=$?; \
         echo \"{TEST_MARKER}$b EXIT=$r\"; [ $r = 0 ] || rc=1; done; exit $rc",
        list.join(" ")
    );
    let mut cmd = Command::new(script());
    for b in bins.iter().chain(&payload.files) {
        cmd.arg("-f").arg(b);
    }
    cmd.arg("--").arg(guest_cmd);
    let (report, status) = stream(&mut cmd)?;
    let failure = match report.failure(&names) {
        Some(why) => Some(format!("{why} (scripts/ipvs-vm.sh: {status})")),
        None if !status.success() => Some(format!("scripts/ipvs-vm.sh failed: {status}")),
        None => None,
    };
    Ok((report, failure))
}

/// `cargo xtask guest`: runs a file from the host (copied in) or a command in the guest.
pub fn run_command(args: &[String]) -> Result<()> {
    let Some((first, rest)) = args.split_first() else {
        bail!("usage: cargo xtask guest <file or command> [args...]");
    };
    let mut cmd = Command::new(script());
    let program = if Path::new(first).is_file() {
        cmd.arg("-f").arg(first);
        format!("./{}", file_name(Path::new(first))?)
    } else {
        first.clone()
    };
    let words: Vec<String> = std::iter::once(program)
        .chain(rest.iter().cloned())
        .map(|w| shell_quote(&w))
        .collect();
    cmd.arg("--").arg(words.join(" "));
    let (report, status) = stream(&mut cmd)?;
    match report.exit {
        Some(0) => Ok(()),
        Some(s) => bail!("the guest command exited {s}"),
        None if status.code() == Some(NO_REPORT) => {
            bail!("the guest reported no exit status (kernel panic or timeout)")
        }
        None => bail!("scripts/ipvs-vm.sh failed: {status}"),
    }
}

/// Runs the guest script, echoing its console output line by line and reading the report off it.
fn stream(cmd: &mut Command) -> Result<(Report, std::process::ExitStatus)> {
    eprintln!("xtask: {}", render(cmd));
    let mut child = cmd
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("spawn {}", render(cmd)))?;
    let mut report = Report::default();
    if let Some(out) = child.stdout.take() {
        for line in std::io::BufReader::new(out).split(b'\n') {
            // The console is not guaranteed UTF-8 (kernel messages, test output).
            let line = String::from_utf8_lossy(&line?).into_owned();
            println!("{line}");
            report.read_line(&line);
        }
    }
    Ok((report, child.wait()?))
}

fn file_name(p: &Path) -> Result<String> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .with_context(|| format!("no UTF-8 file name in {}", p.display()))
}

/// Quotes a word for bash, unless it is plainly safe.
fn shell_quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(console: &str) -> Report {
        let mut r = Report::default();
        console.lines().for_each(|l| r.read_line(l));
        r
    }

    const PASSING: &str = "VRRP-VM-BOOTED uptime=2.9s kernel=6.1.0-56-cloud-amd64 cpus=1\n\
        running 1 test\n\
        test ipvsadm_adds_a_masq_service_in_its_own_namespace ... ok\n\
        test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n\
        VRRP-VM-TEST guest_smoke-20d3e2 EXIT=0\n\
        test result: ok. 7 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n\
        VRRP-VM-TEST kernel-99aa EXIT=0\n\
        VRRP-VM-EXIT=0 uptime=3.82s\n\
        [    3.803571] reboot: Power down\n";

    fn names() -> Vec<String> {
        vec!["guest_smoke-20d3e2".into(), "kernel-99aa".into()]
    }

    #[test]
    fn a_passing_run_adds_up_every_binary() {
        let r = read(PASSING);
        assert_eq!((r.passed, r.failed, r.exit), (8, 0, Some(0)));
        assert_eq!(r.binaries.len(), 2);
        assert_eq!(r.failure(&names()), None);
    }

    #[test]
    fn a_failing_binary_fails_the_run() {
        let console = PASSING
            .replace("ok. 7 passed; 0 failed", "FAILED. 6 passed; 1 failed")
            .replace("kernel-99aa EXIT=0", "kernel-99aa EXIT=101")
            .replace("VRRP-VM-EXIT=0", "VRRP-VM-EXIT=1");
        let r = read(&console);
        assert_eq!((r.passed, r.failed, r.exit), (7, 1, Some(1)));
        assert_eq!(
            r.failure(&names()).as_deref(),
            Some("kernel-99aa exited 101")
        );
    }

    #[test]
    fn a_guest_that_never_reports_fails_the_run() {
        // A kernel panic or a timeout: the console stops mid-run.
        let cut = PASSING.find("VRRP-VM-TEST kernel").unwrap();
        let r = read(&PASSING[..cut]);
        assert_eq!(r.exit, None);
        assert!(r.failure(&names()).unwrap().contains("no exit status"));
    }

    #[test]
    fn a_binary_that_never_ran_fails_the_run() {
        let console = PASSING.replace("VRRP-VM-TEST kernel-99aa EXIT=0\n", "");
        let r = read(&console);
        assert_eq!(
            r.failure(&names()).as_deref(),
            Some("kernel-99aa did not run")
        );
    }

    #[test]
    fn test_executables_are_found_in_cargo_json() {
        let json = r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"lab"},"executable":"/t/debug/lab"}
{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"guest_smoke"},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["test"],"name":"guest_smoke"},"executable":"/t/debug/deps/guest_smoke-1f"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable(json, "guest_smoke"),
            Some(PathBuf::from("/t/debug/deps/guest_smoke-1f"))
        );
        assert_eq!(executable(json, "kernel"), None);
    }

    #[test]
    fn guest_tests_are_selected_by_name() {
        assert_eq!(select(&[]).unwrap().len(), GUEST_TESTS.len());
        assert_eq!(
            select(&["ipvs_worker".into()]).unwrap(),
            vec![("vrrp-agent", "ipvs_worker")]
        );
        assert!(select(&["nope".into()]).is_err());
    }

    #[test]
    fn words_are_quoted_for_bash() {
        assert_eq!(shell_quote("--test-threads=1"), "--test-threads=1");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
