//! Notify on transitions, keepalived-compatible: per-state scripts (`notify_master`, ...), the
//! generic `notify` script called with `TYPE NAME STATE PRIORITY`, and a FIFO line in the same
//! format. Never blocks the election: runs are queued to a background task, in order.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::health::script::{RunAs, ScriptOutcome, run_as_with_timeout};

/// The state names keepalived passes to notify scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyState {
    Master,
    Backup,
    Fault,
    Stop,
}

impl NotifyState {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyState::Master => "MASTER",
            NotifyState::Backup => "BACKUP",
            NotifyState::Fault => "FAULT",
            NotifyState::Stop => "STOP",
        }
    }
}

/// Whether the notification is about an instance or a sync group (keepalived's first argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyKind {
    Instance,
    Group,
}

impl NotifyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotifyKind::Instance => "INSTANCE",
            NotifyKind::Group => "GROUP",
        }
    }
}

/// Scripts to run for one instance or group, each an argv.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifyScripts {
    pub master: Option<Vec<String>>,
    pub backup: Option<Vec<String>>,
    pub fault: Option<Vec<String>>,
    pub stop: Option<Vec<String>>,
    /// keepalived `notify`: called for every transition with TYPE NAME STATE PRIORITY appended.
    pub any: Option<Vec<String>>,
}

/// One transition to announce.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    pub kind: NotifyKind,
    pub name: String,
    pub state: NotifyState,
    pub priority: u8,
}

impl Notification {
    /// keepalived's FIFO line: `INSTANCE "VI_1" MASTER 100`.
    pub fn fifo_line(&self) -> String {
        format!(
            "{} \"{}\" {} {}\n",
            self.kind.as_str(),
            self.name,
            self.state.as_str(),
            self.priority
        )
    }
}

struct Job {
    scripts: NotifyScripts,
    note: Notification,
}

/// Queues notifications to one background task that runs them in order.
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Job>,
}

impl Notifier {
    /// Starts the background task. `fifo`: keepalived `notify_fifo`; `timeout`: per script run;
    /// `run_as`: keepalived `script_user` (None: root).
    pub fn spawn(fifo: Option<PathBuf>, timeout: Duration, run_as: Option<RunAs>) -> Notifier {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        tokio::spawn(async move {
            while let Some(job) = rx.recv().await {
                run_job(&job, fifo.as_deref(), timeout, run_as).await;
            }
        });
        Notifier { tx }
    }

    /// Queues a notification; returns at once.
    pub fn notify(&self, scripts: &NotifyScripts, note: Notification) {
        // The task only ends when every Notifier is dropped, so a send cannot fail before that.
        let _ = self.tx.send(Job {
            scripts: scripts.clone(),
            note,
        });
    }
}

async fn run_job(
    job: &Job,
    fifo: Option<&std::path::Path>,
    timeout: Duration,
    run_as: Option<RunAs>,
) {
    let n = &job.note;
    if let Some(path) = fifo {
        write_fifo(path, &n.fifo_line());
    }
    let specific = match n.state {
        NotifyState::Master => &job.scripts.master,
        NotifyState::Backup => &job.scripts.backup,
        NotifyState::Fault => &job.scripts.fault,
        NotifyState::Stop => &job.scripts.stop,
    };
    if let Some(argv) = specific {
        report(argv, run_as_with_timeout(argv, timeout, run_as).await, n);
    }
    if let Some(argv) = &job.scripts.any {
        let mut full = argv.clone();
        full.extend([
            n.kind.as_str().to_string(),
            n.name.clone(),
            n.state.as_str().to_string(),
            n.priority.to_string(),
        ]);
        report(&full, run_as_with_timeout(&full, timeout, run_as).await, n);
    }
}

fn report(argv: &[String], outcome: ScriptOutcome, n: &Notification) {
    if !outcome.success() {
        tracing::warn!(instance = %n.name, state = n.state.as_str(), script = ?argv, ?outcome, "notify script failed");
    }
}

/// Writes one line without blocking: no reader (ENXIO) or a full pipe drops the line.
fn write_fifo(path: &std::path::Path, line: &str) {
    let res = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = res {
        tracing::debug!(fifo = %path.display(), error = %e, "notify fifo line dropped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_line_matches_keepalived() {
        let n = Notification {
            kind: NotifyKind::Instance,
            name: "VI_1".into(),
            state: NotifyState::Master,
            priority: 100,
        };
        assert_eq!(n.fifo_line(), "INSTANCE \"VI_1\" MASTER 100\n");
    }

    #[tokio::test]
    async fn scripts_get_keepalived_arguments_in_order() {
        let dir = std::env::temp_dir().join(format!("vrrp-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("log");
        let sh = |s: &str| {
            vec![
                "/bin/sh".to_string(),
                "-c".to_string(),
                s.to_string(),
                "notify".to_string(),
            ]
        };
        let scripts = NotifyScripts {
            master: Some(sh(&format!("echo master >> {}", log.display()))),
            backup: None,
            fault: None,
            stop: None,
            any: Some(sh(&format!("echo \"any $*\" >> {}", log.display()))),
        };
        let notifier = Notifier::spawn(None, Duration::from_secs(5), None);
        let note = |state, priority| Notification {
            kind: NotifyKind::Instance,
            name: "VI_1".into(),
            state,
            priority,
        };
        notifier.notify(&scripts, note(NotifyState::Master, 150));
        notifier.notify(&scripts, note(NotifyState::Backup, 100));
        let want = "master\nany INSTANCE VI_1 MASTER 150\nany INSTANCE VI_1 BACKUP 100\n";
        let mut got = String::new();
        for _ in 0..100 {
            got = std::fs::read_to_string(&log).unwrap_or_default();
            if got.len() >= want.len() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(got, want);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn fifo_without_reader_does_not_block() {
        let dir = std::env::temp_dir().join(format!("vrrp-fifo-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        write_fifo(&fifo, "INSTANCE \"x\" MASTER 1\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
