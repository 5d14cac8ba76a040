//! MISC_CHECK: a command whose exit status 0 means up; killed with its process group at the
//! check's timeout (keepalived `misc_timeout`), which counts as a failure.

use std::time::Duration;

use crate::health::script::{RunAs, ScriptOutcome, run_as_with_timeout};

use super::fmt_duration;

/// One run of `argv`.
pub async fn attempt(
    argv: &[String],
    timeout: Duration,
    run_as: Option<RunAs>,
) -> Result<String, String> {
    match run_as_with_timeout(argv, timeout, run_as).await {
        ScriptOutcome::Exited(0) => Ok("exit 0".into()),
        ScriptOutcome::Exited(c) => Err(format!("exit {c}")),
        ScriptOutcome::Signalled(s) => Err(format!("killed by signal {s}")),
        ScriptOutcome::TimedOut => Err(format!("timeout after {} (killed)", fmt_duration(timeout))),
        ScriptOutcome::SpawnFailed(e) => Err(format!("spawn failed: {e}")),
    }
}
