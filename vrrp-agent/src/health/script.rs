//! Running operator scripts safely: refuse files others can write, run each in its own process
//! group with a timeout, kill the whole group when it overruns. Used by track scripts and notify.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use thiserror::Error;

/// Why a script may not be run.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ScriptSecurityError {
    #[error("{path}: cannot stat: {reason}")]
    Stat { path: PathBuf, reason: String },
    #[error("{path}: owned by uid {uid}, not root: refusing to run it as root")]
    NotRootOwned { path: PathBuf, uid: u32 },
    #[error("{path}: writable by group or others (mode {mode:o}): refusing to run it as root")]
    Writable { path: PathBuf, mode: u32 },
    #[error("{path}: not found on PATH")]
    NotFound { path: PathBuf },
}

/// Resolves `program` like execvp would (a bare name is looked up on PATH).
pub fn resolve(program: &str) -> Result<PathBuf, ScriptSecurityError> {
    if program.contains('/') {
        return Ok(PathBuf::from(program));
    }
    let path =
        std::env::var_os("PATH").unwrap_or_else(|| OsString::from("/usr/sbin:/usr/bin:/sbin:/bin"));
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .ok_or_else(|| ScriptSecurityError::NotFound {
            path: PathBuf::from(program),
        })
}

/// keepalived's `enable_script_security`, always on: the script and every directory above it must
/// be owned by root and not writable by group or others, or anyone who can write them could run
/// code as root. Symlinks are followed (what exec runs is checked).
pub fn check_script_security(program: &str) -> Result<PathBuf, ScriptSecurityError> {
    let path = resolve(program)?;
    let real = std::fs::canonicalize(&path).map_err(|e| ScriptSecurityError::Stat {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let mut cur: Option<&Path> = Some(&real);
    while let Some(p) = cur {
        let md = std::fs::metadata(p).map_err(|e| ScriptSecurityError::Stat {
            path: p.to_path_buf(),
            reason: e.to_string(),
        })?;
        if md.uid() != 0 {
            return Err(ScriptSecurityError::NotRootOwned {
                path: p.to_path_buf(),
                uid: md.uid(),
            });
        }
        // Sticky directories such as /tmp are writable by all but protect their entries.
        let sticky = md.is_dir() && md.mode() & 0o1000 != 0;
        if md.mode() & 0o022 != 0 && !sticky {
            return Err(ScriptSecurityError::Writable {
                path: p.to_path_buf(),
                mode: md.mode() & 0o7777,
            });
        }
        cur = p.parent();
    }
    Ok(real)
}

/// How a script run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptOutcome {
    /// Exited with this code.
    Exited(i32),
    /// Killed by this signal (not by us).
    Signalled(i32),
    /// Ran past its timeout; its whole process group was killed.
    TimedOut,
    /// Could not be started.
    SpawnFailed(String),
}

impl ScriptOutcome {
    /// Exit 0: the tracked thing is up.
    pub fn success(&self) -> bool {
        matches!(self, ScriptOutcome::Exited(0))
    }
}

/// The user a script runs as (keepalived `script_user`, or a script's own `user`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// Looks a user up in the passwd database: its uid and primary gid.
pub fn resolve_user(name: &str) -> Result<RunAs, String> {
    match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => Ok(RunAs {
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
        }),
        Ok(None) => Err(format!("user {name:?} does not exist")),
        Err(e) => Err(format!("user {name:?}: {e}")),
    }
}

/// Runs `argv` as root; see [`run_as_with_timeout`].
pub async fn run_with_timeout(argv: &[String], timeout: Duration) -> ScriptOutcome {
    run_as_with_timeout(argv, timeout, None).await
}

/// Runs `argv` (as `run_as` when given) in a new process group with stdin/stdout closed, waits at
/// most `timeout`, and kills the whole group (SIGKILL) if it overruns, so grandchildren do not
/// linger either.
pub async fn run_as_with_timeout(
    argv: &[String],
    timeout: Duration,
    run_as: Option<RunAs>,
) -> ScriptOutcome {
    let Some((prog, args)) = argv.split_first() else {
        return ScriptOutcome::SpawnFailed("empty command".into());
    };
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(u) = run_as {
        cmd.gid(u.gid).uid(u.uid);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return ScriptOutcome::SpawnFailed(format!("{prog}: {e}")),
    };
    let pgid = child.id();
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => {
            use std::os::unix::process::ExitStatusExt as _;
            // Reap anything the script left in its group.
            if let Some(pgid) = pgid {
                kill_group(pgid);
            }
            match (status.code(), status.signal()) {
                (Some(c), _) => ScriptOutcome::Exited(c),
                (None, Some(s)) => ScriptOutcome::Signalled(s),
                (None, None) => ScriptOutcome::SpawnFailed("no exit status".into()),
            }
        }
        Ok(Err(e)) => ScriptOutcome::SpawnFailed(format!("{prog}: wait: {e}")),
        Err(_) => {
            if let Some(pgid) = pgid {
                kill_group(pgid);
            }
            let _ = child.wait().await;
            ScriptOutcome::TimedOut
        }
    }
}

fn kill_group(pgid: u32) {
    if let Ok(pgid) = i32::try_from(pgid) {
        // The group may already be gone (ESRCH): nothing to do then.
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;
    use std::time::Instant;

    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
    }

    #[tokio::test]
    async fn exit_codes_are_reported() {
        assert_eq!(
            run_with_timeout(&sh("exit 0"), Duration::from_secs(5)).await,
            ScriptOutcome::Exited(0)
        );
        assert_eq!(
            run_with_timeout(&sh("exit 3"), Duration::from_secs(5)).await,
            ScriptOutcome::Exited(3)
        );
    }

    #[tokio::test]
    async fn a_hanging_script_is_killed_with_its_children_at_the_timeout() {
        let marker = std::env::temp_dir().join(format!("vrrp-script-test-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        // The grandchild would write the marker after 2 s unless the whole group is killed.
        let script = format!("(sleep 2; touch {}) & sleep 30", marker.display());
        let t0 = Instant::now();
        let out = run_with_timeout(&sh(&script), Duration::from_millis(200)).await;
        assert_eq!(out, ScriptOutcome::TimedOut);
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "took {:?}",
            t0.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(!marker.exists(), "grandchild survived the group kill");
    }

    #[tokio::test]
    async fn scripts_run_as_the_configured_user() {
        if nix::unistd::geteuid().as_raw() != 0 {
            eprintln!("SKIP: needs root to change user");
            return;
        }
        let nobody = resolve_user("nobody").unwrap();
        assert_ne!(nobody.uid, 0);
        let test = format!("test $(id -u) = {}", nobody.uid);
        assert_eq!(
            run_as_with_timeout(&sh(&test), Duration::from_secs(5), Some(nobody)).await,
            ScriptOutcome::Exited(0)
        );
        assert_eq!(
            run_with_timeout(&sh(&test), Duration::from_secs(5)).await,
            ScriptOutcome::Exited(1)
        );
        assert!(resolve_user("no-such-user-xyz").is_err());
    }

    #[tokio::test]
    async fn a_missing_program_is_a_spawn_failure() {
        let out = run_with_timeout(&["/nonexistent/xyz".to_string()], Duration::from_secs(1)).await;
        assert!(matches!(out, ScriptOutcome::SpawnFailed(_)), "{out:?}");
    }

    #[test]
    fn world_writable_scripts_are_refused() {
        if nix::unistd::geteuid().as_raw() != 0 {
            eprintln!("SKIP: needs root to own the test script");
            return;
        }
        let dir = tempdir();
        let f = dir.join("check.sh");
        std::fs::write(&f, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(check_script_security(f.to_str().unwrap()), Ok(f.clone()));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o757)).unwrap();
        assert_eq!(
            check_script_security(f.to_str().unwrap()),
            Err(ScriptSecurityError::Writable {
                path: f.clone(),
                mode: 0o757
            })
        );
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(
            check_script_security(f.to_str().unwrap()),
            Err(ScriptSecurityError::Writable {
                path: dir.clone(),
                mode: 0o777
            })
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bare_names_resolve_on_path() {
        assert!(resolve("sh").unwrap().is_absolute());
        assert_eq!(
            resolve("no-such-program-xyz"),
            Err(ScriptSecurityError::NotFound {
                path: PathBuf::from("no-such-program-xyz")
            })
        );
    }

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "vrrp-sec-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
        d
    }
}
