//! The daemon's LVS side: health monitor + desired table + IPVS worker, glued together.
//!
//! Health changes and VRRP role changes (with `lvs.program_on: master`) recompute the desired
//! table (`lvs::table`); the IPVS worker thread applies only the difference, off the event loop
//! that sends adverts. Quorum changes run `quorum_up` / `quorum_down` and move the priority of
//! the virtual server's instance by `quorum_weight` (keepalived track-weight semantics).
//!
//! Nothing here runs until the configuration has a virtual server: a host without IPVS and
//! without LVS configuration never opens the IPVS netlink family.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Result, anyhow};
use tokio::sync::mpsc;
use vrrp_ipvs::Table;

use super::ipvs::IpvsWorker;
use super::status::{LvsStatus, RealServerStatus, VirtualServerStatus};
use crate::config::Config;
use crate::config::lvs::{CheckKind, LvsGlobal, OnStop, ProgramOn, VirtualServer};
use crate::health::script::{RunAs, check_script_security, resolve_user, run_as_with_timeout};
use crate::health::track::Tracked;
use crate::lvs::monitor::{HealthChange, Monitor, Target, TargetKey};
use crate::lvs::table::{self, Quorum, QuorumChange};

/// How long shutdown waits for the worker to remove the services.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);
/// A quorum_up / quorum_down command is killed after this.
const QUORUM_SCRIPT_TIMEOUT: Duration = Duration::from_secs(30);

/// The LVS runtime.
pub struct Lvs {
    global: LvsGlobal,
    servers: Vec<VirtualServer>,
    monitor: Monitor,
    rx: mpsc::UnboundedReceiver<HealthChange>,
    worker: IpvsWorker,
    quorum: HashMap<String, Quorum>,
    /// The last table handed to the worker (not resent when unchanged).
    desired: Option<Table>,
    script_user: Option<String>,
    script_security: bool,
}

fn targets(cfg: &Config) -> Result<Vec<Target>> {
    let mut out = Vec::new();
    for vs in &cfg.virtual_servers {
        for rs in &vs.real_servers {
            let Some(check) = &rs.check else { continue };
            let mut run_as: Option<RunAs> = None;
            if let CheckKind::Script { command, user } = &check.kind {
                if cfg.global.enable_script_security
                    && let Some(prog) = command.first()
                {
                    check_script_security(prog)
                        .map_err(|e| anyhow!("virtual server {} check: {e}", vs.name))?;
                }
                if let Some(u) = user.as_ref().or(cfg.global.script_user.as_ref()) {
                    run_as = Some(
                        resolve_user(u)
                            .map_err(|e| anyhow!("virtual server {} check: {e}", vs.name))?,
                    );
                }
            }
            out.push(Target {
                key: TargetKey {
                    vs: vs.name.clone(),
                    addr: rs.address,
                    port: rs.port,
                },
                addr: rs.address,
                port: rs.port,
                check: check.clone(),
                run_as,
            });
        }
    }
    Ok(out)
}

impl Lvs {
    /// Starts health checks and the IPVS worker for `cfg`'s virtual servers; None when it has
    /// none.
    pub fn start(cfg: &Config) -> Result<Option<Lvs>> {
        if cfg.virtual_servers.is_empty() {
            return Ok(None);
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let monitor = Monitor::start(targets(cfg)?, tx);
        Ok(Some(Lvs {
            global: cfg.lvs.clone(),
            servers: cfg.virtual_servers.clone(),
            monitor,
            rx,
            worker: IpvsWorker::spawn(),
            quorum: HashMap::new(),
            desired: None,
            script_user: cfg.global.script_user.clone(),
            script_security: cfg.global.enable_script_security,
        }))
    }

    /// Takes a new configuration (SIGHUP). Checks of unchanged real servers keep their state.
    /// On error (a check script refused) the running LVS configuration stays.
    pub fn reload(&mut self, cfg: &Config) -> Result<()> {
        let t = targets(cfg)?;
        self.monitor.reload(t);
        self.global = cfg.lvs.clone();
        self.servers = cfg.virtual_servers.clone();
        self.script_user = cfg.global.script_user.clone();
        self.script_security = cfg.global.enable_script_security;
        Ok(())
    }

    /// The next health verdict change.
    pub async fn recv(&mut self) -> Option<HealthChange> {
        self.rx.recv().await
    }

    /// Whether a role change of `instance` can change the table.
    pub fn follows(&self, instance: &str) -> bool {
        self.servers
            .iter()
            .any(|v| v.instance.as_deref() == Some(instance))
    }

    fn programmed(&self, vs: &VirtualServer, is_master: &dyn Fn(&str) -> bool) -> bool {
        programmed(self.global.program_on, vs, is_master)
    }

    /// Recomputes the desired table and hands it to the worker if it changed. Returns the
    /// quorum changes (the caller re-applies tracking of their instances).
    pub fn refresh(&mut self, is_master: &dyn Fn(&str) -> bool) -> Vec<QuorumChange> {
        let monitor = &self.monitor;
        let program_on = self.global.program_on;
        let (want, changes) = table::desired(
            &self.servers,
            &|vs| programmed(program_on, vs, is_master),
            &|vs, rs| {
                rs.check.is_none()
                    || monitor.is_up(&TargetKey {
                        vs: vs.name.clone(),
                        addr: rs.address,
                        port: rs.port,
                    })
            },
            &mut self.quorum,
        );
        for c in &changes {
            self.quorum_changed(c);
        }
        if self.desired.as_ref() != Some(&want) {
            self.worker.set_desired(want.clone());
            self.desired = Some(want);
        }
        changes
    }

    fn quorum_changed(&self, c: &QuorumChange) {
        let Some(vs) = self.servers.iter().find(|v| v.name == c.vs) else {
            return;
        };
        tracing::warn!(
            virtual_server = %vs.name,
            held = c.held,
            alive_weight = c.alive_weight,
            quorum = vs.quorum,
            hysteresis = vs.hysteresis,
            "quorum {}",
            if c.held { "regained" } else { "lost" }
        );
        let cmd = if c.held {
            vs.quorum_up.clone()
        } else {
            vs.quorum_down.clone()
        };
        if let Some(argv) = cmd {
            let user = self.script_user.clone();
            let name = vs.name.clone();
            tokio::spawn(async move {
                let run_as = user.as_deref().and_then(|u| resolve_user(u).ok());
                let out = run_as_with_timeout(&argv, QUORUM_SCRIPT_TIMEOUT, run_as).await;
                if !out.success() {
                    tracing::warn!(virtual_server = %name, outcome = ?out, "quorum command failed");
                }
            });
        }
    }

    /// What quorum does to `instance`'s priority: one tracked object per virtual server of
    /// that instance with a non-zero `quorum_weight`.
    pub fn tracked(&self, instance: &str) -> Vec<Tracked> {
        self.servers
            .iter()
            .filter(|v| v.instance.as_deref() == Some(instance) && v.quorum_weight != 0)
            .map(|v| Tracked::UpDown {
                up: self.quorum.get(&v.name).is_none_or(|q| q.held),
                weight: i32::from(v.quorum_weight),
            })
            .collect()
    }

    /// Stops checks; removes or keeps the services as `lvs.on_stop` says.
    pub fn shutdown(mut self) {
        self.monitor.shutdown();
        let remove = self.global.on_stop == OnStop::Remove;
        self.worker.shutdown(remove, SHUTDOWN_TIMEOUT);
        tracing::info!(
            services = if remove { "removed" } else { "kept" },
            "LVS stopped"
        );
    }

    /// Services, real servers, health and weights, for `vrrp-agent status`.
    pub fn status(&self, is_master: &dyn Fn(&str) -> bool) -> LvsStatus {
        let snap = self.worker.snapshot();
        let states: HashMap<TargetKey, _> = self.monitor.states().into_iter().collect();
        let virtual_servers = self
            .servers
            .iter()
            .map(|vs| {
                let key = table::service_key(vs);
                let q = self
                    .quorum
                    .get(&vs.name)
                    .copied()
                    .unwrap_or(Quorum::INITIAL);
                VirtualServerStatus {
                    name: vs.name.clone(),
                    service: key.to_string(),
                    scheduler: vs.scheduler.clone(),
                    instance: vs.instance.clone(),
                    programmed: self.programmed(vs, is_master),
                    quorum: vs.quorum,
                    quorum_held: q.held,
                    alive_weight: q.alive_weight,
                    real_servers: vs
                        .real_servers
                        .iter()
                        .map(|rs| {
                            let st = states.get(&TargetKey {
                                vs: vs.name.clone(),
                                addr: rs.address,
                                port: rs.port,
                            });
                            RealServerStatus {
                                address: match rs.address {
                                    std::net::IpAddr::V4(a) => format!("{a}:{}", rs.port),
                                    std::net::IpAddr::V6(a) => format!("[{a}]:{}", rs.port),
                                },
                                check: rs.check.as_ref().map_or_else(
                                    || "none".to_string(),
                                    |c| check_name(&c.kind).to_string(),
                                ),
                                healthy: st.is_none_or(|s| s.up),
                                detail: st.map(|s| s.detail.clone()).filter(|d| !d.is_empty()),
                                checks: st.map_or(0, |s| s.checks),
                                failures: st.map_or(0, |s| s.failures),
                                weight: rs.weight,
                                kernel_weight: table::weight_in(
                                    &snap.services,
                                    &key,
                                    rs.address,
                                    rs.port,
                                ),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        LvsStatus {
            program_on: match self.global.program_on {
                ProgramOn::AllNodes => "all_nodes".into(),
                ProgramOn::Master => "master".into(),
            },
            ipvs_available: snap.available,
            in_sync: snap.in_sync,
            last_error: snap.last_error.clone(),
            ops_applied: snap.ops_applied,
            repairs: snap.repairs,
            passes: snap.passes,
            virtual_servers,
        }
    }
}

/// Whether `vs` belongs in this node's table now (`lvs.program_on`).
fn programmed(program_on: ProgramOn, vs: &VirtualServer, is_master: &dyn Fn(&str) -> bool) -> bool {
    match program_on {
        ProgramOn::AllNodes => true,
        ProgramOn::Master => vs.instance.as_deref().is_some_and(is_master),
    }
}

fn check_name(k: &CheckKind) -> &'static str {
    match k {
        CheckKind::Tcp { .. } => "tcp",
        CheckKind::Http(_) => "http",
        CheckKind::Https(_) => "https",
        CheckKind::Script { .. } => "script",
    }
}
