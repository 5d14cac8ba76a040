//! The control socket: a root-only Unix stream socket where `vrrp-agent status` (and tools)
//! ask the running daemon for a snapshot. One request line in, one JSON document out.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};

/// Default path of the control socket.
pub const DEFAULT_SOCKET: &str = "/run/vrrp-agent/control.sock";

/// A request from a client, answered through `reply`.
#[derive(Debug)]
pub struct ControlRequest {
    pub command: ControlCommand,
    pub reply: oneshot::Sender<String>,
}

/// What a client may ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ControlCommand {
    /// The full status as JSON.
    Status,
}

/// Binds the socket (replacing a stale one), mode 0600 in a 0700 directory, and serves requests
/// from uid 0 only until the returned task is dropped or the daemon exits.
pub fn serve(path: &Path, requests: mpsc::Sender<ControlRequest>) -> Result<ControlSocket> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("chmod {}", dir.display()))?;
    }
    if path.exists() {
        // A live daemon answers; a stale file from a crash does not.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!(
                "{}: another vrrp-agent is running (its control socket answers)",
                path.display()
            );
        }
        std::fs::remove_file(path).with_context(|| format!("remove stale {}", path.display()))?;
    }
    let listener = UnixListener::bind(path).with_context(|| format!("bind {}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("chmod {}", path.display()))?;
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let requests = requests.clone();
            tokio::spawn(async move {
                if let Err(e) = handle(stream, requests).await {
                    tracing::debug!(error = %e, "control client");
                }
            });
        }
    });
    Ok(ControlSocket {
        path: path.to_path_buf(),
        task,
    })
}

/// The served socket; dropping it stops serving and removes the file.
pub struct ControlSocket {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn handle(mut stream: UnixStream, requests: mpsc::Sender<ControlRequest>) -> Result<()> {
    let cred = stream.peer_cred()?;
    if cred.uid() != 0 {
        stream
            .write_all(b"{\"error\":\"permission denied: root only\"}\n")
            .await?;
        return Ok(());
    }
    let mut line = String::new();
    BufReader::new(&mut stream)
        .take(256)
        .read_line(&mut line)
        .await?;
    let command = match line.trim() {
        "status" => ControlCommand::Status,
        other => {
            let msg =
                serde_json::json!({ "error": format!("unknown command {other:?}; known: status") });
            stream.write_all(format!("{msg}\n").as_bytes()).await?;
            return Ok(());
        }
    };
    let (reply, rx) = oneshot::channel();
    requests.send(ControlRequest { command, reply }).await?;
    let answer = rx.await?;
    stream.write_all(answer.as_bytes()).await?;
    stream.write_all(b"\n").await?;
    Ok(())
}

/// Client side: sends `command` and returns the daemon's answer.
pub async fn query(path: &Path, command: &str) -> Result<String> {
    let mut stream = UnixStream::connect(path)
        .await
        .with_context(|| format!("connect to {} (is vrrp-agent running?)", path.display()))?;
    stream.write_all(format!("{command}\n").as_bytes()).await?;
    let mut out = String::new();
    stream.read_to_string(&mut out).await?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn status_round_trip_and_unknown_command() {
        if nix::unistd::geteuid().as_raw() != 0 {
            eprintln!("SKIP: the control socket serves root only");
            return;
        }
        let dir = std::env::temp_dir().join(format!("vrrp-ctl-{}", std::process::id()));
        let path = dir.join("control.sock");
        let (tx, mut rx) = mpsc::channel(4);
        let sock = serve(&path, tx).unwrap();
        tokio::spawn(async move {
            while let Some(req) = rx.recv().await {
                assert_eq!(req.command, ControlCommand::Status);
                let _ = req.reply.send("{\"instances\":[]}".into());
            }
        });
        assert_eq!(
            query(&path, "status").await.unwrap(),
            "{\"instances\":[]}\n"
        );
        let err = query(&path, "frobnicate").await.unwrap();
        assert!(err.contains("unknown command \\\"frobnicate\\\""), "{err}");
        // A second daemon must not steal a live socket.
        let (tx2, _rx2) = mpsc::channel(1);
        let e = serve(&path, tx2).err().unwrap().to_string();
        assert!(e.contains("another vrrp-agent is running"), "{e}");
        drop(sock);
        assert!(!path.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
