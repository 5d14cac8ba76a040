//! One attempt of a health check, bounded as a whole by the check's `timeout` (keepalived
//! `connect_timeout`): a [`Prober`] is built once per target (request bytes, TLS config) and
//! each [`Prober::attempt`] returns `Ok(detail)` or `Err(detail)` with a short reason.

pub mod http;
pub mod script;
pub mod tcp;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::config::lvs::{Check, CheckKind};
use crate::health::script::RunAs;

/// What one kind of check needs, prepared once.
enum Kind {
    Tcp,
    Http(http::HttpProbe),
    Script {
        argv: Vec<String>,
        run_as: Option<RunAs>,
    },
}

/// The prepared probe of one target.
pub struct Prober {
    addr: SocketAddr,
    timeout: Duration,
    kind: Kind,
}

impl Prober {
    /// Prepares probing `addr:port` (the real server) with `check`; `connect_ip` /
    /// `connect_port` of the check override the address. `run_as` is the user of a script check
    /// (resolved by the caller from the check's `user` or `global.script_user`).
    pub fn new(
        addr: IpAddr,
        port: u16,
        check: &Check,
        run_as: Option<RunAs>,
    ) -> Result<Self, String> {
        let sock = |ip: Option<IpAddr>, p: Option<u16>| {
            SocketAddr::new(ip.unwrap_or(addr), p.unwrap_or(port))
        };
        let (addr, kind) = match &check.kind {
            CheckKind::Tcp {
                connect_ip,
                connect_port,
            } => (sock(*connect_ip, *connect_port), Kind::Tcp),
            CheckKind::Http(h) => {
                let a = sock(h.connect_ip, h.connect_port);
                (a, Kind::Http(http::HttpProbe::new(a, h, false)?))
            }
            CheckKind::Https(h) => {
                let a = sock(h.connect_ip, h.connect_port);
                (a, Kind::Http(http::HttpProbe::new(a, h, true)?))
            }
            CheckKind::Script { command, .. } => (
                SocketAddr::new(addr, port),
                Kind::Script {
                    argv: command.clone(),
                    run_as,
                },
            ),
        };
        Ok(Prober {
            addr,
            timeout: check.timeout.get(),
            kind,
        })
    }

    /// The address probed (after `connect_ip` / `connect_port`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// One attempt, never longer than the timeout (plus the time to kill a hung script).
    pub async fn attempt(&self) -> Result<String, String> {
        match &self.kind {
            Kind::Script { argv, run_as } => script::attempt(argv, self.timeout, *run_as).await,
            Kind::Tcp => bounded(self.timeout, tcp::attempt(self.addr)).await,
            Kind::Http(h) => bounded(self.timeout, h.attempt()).await,
        }
    }
}

/// Runs `fut` for at most `timeout`.
async fn bounded(
    timeout: Duration,
    fut: impl Future<Output = Result<String, String>>,
) -> Result<String, String> {
    tokio::time::timeout(timeout, fut)
        .await
        .unwrap_or_else(|_| Err(format!("timeout after {}", fmt_duration(timeout))))
}

/// "2s", "150ms", "1.5s": for details.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms < 1000 {
        format!("{ms}ms")
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

/// Shared TLS client configuration (cheap to clone).
pub(crate) type TlsConfig = Arc<rustls::ClientConfig>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_short() {
        assert_eq!(fmt_duration(Duration::from_secs(2)), "2s");
        assert_eq!(fmt_duration(Duration::from_millis(150)), "150ms");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
    }
}
