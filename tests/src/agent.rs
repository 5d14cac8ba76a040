//! vrrp-agent as a process under test: YAML config generation, a daemon per namespace with its
//! own control socket, and status reads through that socket.

use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use vrrp_agent::daemon::status::{InstanceStatus, Status};

use crate::topo::{Lan, Netns, Proc, unique_prefix, wait_for};

/// The vrrp-agent binary of the same build: beside the running executable (a bin such as the
/// lab, in target/<profile>/) or one level up (a test, in target/<profile>/deps/).
/// `VRRP_AGENT_BIN` overrides it.
pub fn agent_binary() -> PathBuf {
    if let Ok(p) = std::env::var("VRRP_AGENT_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    let dir = exe.parent().expect("executable directory");
    let here = dir.join("vrrp-agent");
    if here.exists() {
        return here;
    }
    dir.parent().unwrap_or(dir).join("vrrp-agent")
}

/// One instance in a generated config.
#[derive(Clone, Debug)]
pub struct Inst {
    pub name: String,
    pub interface: String,
    pub vrid: u8,
    pub version: u8,
    pub priority: u8,
    pub interval: String,
    pub vips: Vec<String>,
    /// Extra YAML lines for the instance, indented by the caller's choice (6 spaces).
    pub extra: Vec<String>,
}

impl Inst {
    /// A v3 IPv4 instance on eth0 with one VIP, 100 ms adverts.
    pub fn v4(name: &str, vrid: u8, priority: u8, vip: &str) -> Inst {
        Inst {
            name: name.into(),
            interface: "eth0".into(),
            vrid,
            version: 3,
            priority,
            interval: "100ms".into(),
            vips: vec![vip.into()],
            extra: Vec::new(),
        }
    }

    pub fn interval(mut self, i: &str) -> Inst {
        self.interval = i.into();
        self
    }

    pub fn on(mut self, interface: &str) -> Inst {
        self.interface = interface.into();
        self
    }

    pub fn version(mut self, v: u8) -> Inst {
        self.version = v;
        self
    }

    pub fn with(mut self, line: &str) -> Inst {
        self.extra.push(line.into());
        self
    }
}

/// Renders a config: control socket and FIFO paths under `dir`, generic XDP (veth), the
/// dead-man bound given, and the instances.
pub fn render_config(dir: &Path, deadman: &str, extra_global: &str, insts: &[Inst]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "global:\n  router_id: {}",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("t")
    );
    let _ = writeln!(
        s,
        "  control_socket: {}",
        dir.join("control.sock").display()
    );
    let _ = writeln!(
        s,
        "  dataplane:\n    xdp_mode: generic\n    deadman_timeout: {deadman}"
    );
    s.push_str(extra_global);
    let _ = writeln!(s, "instances:");
    for i in insts {
        let _ = writeln!(s, "  {}:", i.name);
        let _ = writeln!(
            s,
            "    interface: {}\n    vrid: {}\n    version: {}",
            i.interface, i.vrid, i.version
        );
        let _ = writeln!(
            s,
            "    priority: {}\n    advert_interval: {}",
            i.priority, i.interval
        );
        let _ = writeln!(s, "    virtual_addresses:");
        for v in &i.vips {
            let _ = writeln!(s, "      - {v}");
        }
        for l in &i.extra {
            let _ = writeln!(s, "    {l}");
        }
    }
    s
}

/// A running agent.
pub struct Agent {
    pub proc: Proc,
    pub dir: PathBuf,
    pub config: PathBuf,
}

impl Agent {
    /// Writes `yaml` to `dir/agent.yaml` and starts the agent in `ns`; waits until its control
    /// socket answers.
    pub fn start(ns: &Netns, dir: &Path, yaml: &str) -> Result<Agent> {
        std::fs::create_dir_all(dir)?;
        let config = dir.join("agent.yaml");
        std::fs::write(&config, yaml)?;
        let bin = agent_binary();
        let bin_s = bin.to_string_lossy().into_owned();
        let cfg_s = config.to_string_lossy().into_owned();
        let mut cmd_argv = vec![bin_s.as_str(), "run", "-c", cfg_s.as_str()];
        cmd_argv.insert(0, "env");
        cmd_argv.insert(1, "RUST_LOG=info,vrrp_agent=debug");
        let proc = Proc::spawn(ns, &cmd_argv, &dir.join("agent.log"))?;
        let agent = Agent {
            proc,
            dir: dir.to_path_buf(),
            config,
        };
        let up = wait_for(Duration::from_secs(10), || agent.status().ok());
        if up.is_none() {
            return Err(anyhow!(
                "agent did not come up; log:\n{}",
                agent.proc.log_text()
            ));
        }
        Ok(agent)
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.join("control.sock")
    }

    /// The daemon's status through its control socket.
    pub fn status(&self) -> Result<Status> {
        let mut s = UnixStream::connect(self.socket()).context("connect")?;
        s.set_read_timeout(Some(Duration::from_secs(2)))?;
        s.write_all(b"status\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        serde_json::from_str(&out).with_context(|| format!("bad status: {out}"))
    }

    pub fn instance(&self, name: &str) -> Result<InstanceStatus> {
        self.status()?
            .instances
            .into_iter()
            .find(|i| i.name == name)
            .ok_or_else(|| anyhow!("no instance {name}"))
    }

    /// The instance's state (MASTER, BACKUP, FAULT, INIT), or "DOWN" when the agent does not answer.
    pub fn state(&self, name: &str) -> String {
        self.instance(name)
            .map(|i| i.state)
            .unwrap_or_else(|_| "DOWN".into())
    }

    /// Waits until `name` is in `state`; fails with the log otherwise.
    pub fn wait_state(&self, name: &str, state: &str, timeout: Duration) -> Result<()> {
        if wait_for(timeout, || (self.state(name) == state).then_some(())).is_some() {
            return Ok(());
        }
        Err(anyhow!(
            "{name} not {state} within {timeout:?} (is {}); log:\n{}",
            self.state(name),
            self.proc.log_text()
        ))
    }
}

/// A LAN of `hosts` namespaces (the last one usually the client) and a directory per host for
/// configs, logs, sockets and scripts, under /run (root-owned, 0755: track and notify scripts
/// there pass the agent's script security check). Logs are kept when a test fails.
pub struct AgentLab {
    pub lan: Lan,
    pub dir: PathBuf,
}

impl AgentLab {
    pub fn new(tag: &str, hosts: usize) -> AgentLab {
        use std::os::unix::fs::PermissionsExt as _;
        let lan = Lan::new(&unique_prefix(tag), hosts).expect("topology");
        let dir = PathBuf::from("/run").join(format!("vrrp-test-{}", lan.prefix));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("lab dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        AgentLab { lan, dir }
    }

    /// The directory of host `host` (created, 0755).
    pub fn host_dir(&self, host: usize) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let d = self.dir.join(format!("h{host}"));
        std::fs::create_dir_all(&d).expect("host dir");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        d
    }

    /// Starts an agent on `host` with these instances, dead-man bound and extra global YAML.
    pub fn start(&self, host: usize, deadman: &str, global: &str, insts: &[Inst]) -> Agent {
        let d = self.host_dir(host);
        let yaml = render_config(&d, deadman, global, insts);
        Agent::start(&self.lan.hosts[host], &d, &yaml).expect("agent start")
    }

    /// The last host.
    pub fn client(&self) -> &Netns {
        self.lan.hosts.last().expect("a host")
    }
}

impl Drop for AgentLab {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
