//! The event loop and the side effects of the election core's actions.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use futures_util::StreamExt as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use vrrp_common::maps::{ROUTER_FLAG_V3_CSUM_AS_V2, Role as DpRole};
use vrrp_common::packet::{self, Addrs, ChecksumMode, DecodeCtx, Endpoints, VersionFields};
use vrrp_core::{Action, Centis, Family, Input, ReceivedAdvert, Role, State, SyncGroup, Version};

use super::absorb;
use super::clock::{Clock, DeadlineTimer};
use super::instance::{self, InstanceRt, proto_family};
use super::lvs::Lvs;
use super::pacer::{self, Pacer};
use super::status::{InstanceStatus, InterfaceStatus, Status, TransitionStatus};
use super::vips::{VipWorker, Wish};
use crate::config::{self, Config};
use crate::control::{self, ControlCommand, ControlRequest};
use crate::health::script::{check_script_security, resolve_user, run_as_with_timeout};
use crate::health::track::{RiseFall, Tracked, verdict};
use crate::io::frame;
use crate::io::netlink::{LinkEvent, LinkEvents, Netlink};
use crate::io::rx::{AdvertReceiver, ReceivedAdvert as RxAdvert, RxError};
use crate::io::tx::PacketSender;
use crate::io::unicast::UnicastSender;
use crate::lvs::monitor::HealthChange;
use crate::notify::{Notification, Notifier, NotifyKind, NotifyScripts, NotifyState};
use crate::xdp::{AttachMode, DataPlane};

/// Adverts taken from one socket in one turn of the event loop, at most (see `drain_adverts`).
const RX_BURST: usize = 64;

/// One interface the agent runs instances on.
struct IfaceRt {
    name: String,
    index: u32,
    up: bool,
    dp: DataPlane,
    tx: PacketSender,
    /// Frames sent through this interface (the queue is the daemon's `txq`).
    txq: TxQueue,
    /// Opened on first use by an instance with unicast peers.
    unicast: Option<(UnicastSender, Option<UnicastSender>)>,
}

/// Transmit counters of one interface.
#[derive(Default)]
struct TxQueue {
    /// Frames handed to the kernel and `sendmmsg` calls made, since start (for `status`).
    sent: u64,
    syscalls: u64,
}

/// A track script's run-time state.
struct ScriptRt {
    cfg: config::Script,
    rf: RiseFall,
    task: tokio::task::JoinHandle<()>,
}

/// Something the loop woke up for.
enum Event {
    Stop(&'static str),
    Reload,
    Rx(std::result::Result<RxAdvert, RxError>),
    Link(LinkEvent),
    Script(String, bool),
    Health(HealthChange),
    Control(ControlRequest),
    Timer,
}

/// Runs the daemon until SIGTERM/SIGINT. Returns after a clean teardown.
pub async fn run(config_path: &Path) -> Result<()> {
    let cfg = Config::load(config_path).map_err(|e| anyhow!("{e}"))?;
    let origin = config_path.display().to_string();
    for w in cfg.warnings() {
        tracing::warn!("{}", w.display_with(&origin));
    }
    let mut d = Daemon::start(config_path.to_path_buf(), cfg).await?;
    let res = d.event_loop().await;
    d.shutdown().await;
    res
}

struct Daemon {
    config_path: PathBuf,
    cfg: Config,
    clock: Clock,
    timer: DeadlineTimer,
    nl: Netlink,
    vips: VipWorker,
    ifaces: BTreeMap<String, IfaceRt>,
    advert_id: u16,
    /// Frames (adverts, GARP, NA) built during this turn of the event loop, each with the
    /// instance that queued it (its interface; a failed send is charged to it), sent when the
    /// turn ends ([`Daemon::flush_tx`]) in the order queued: one `sendmmsg` per interface for a
    /// small batch, paced chunks for a large one (`pacer`).
    txq: Pacer<(usize, Vec<u8>)>,
    instances: Vec<InstanceRt>,
    by_key: HashMap<(u32, Family, u8), usize>,
    groups: Vec<(config::SyncGroup, SyncGroup<usize>)>,
    group_of: Vec<Option<usize>>,
    scripts: BTreeMap<String, ScriptRt>,
    script_tx: mpsc::UnboundedSender<(String, bool)>,
    script_rx: mpsc::UnboundedReceiver<(String, bool)>,
    notifier: Notifier,
    rx4: Option<AdvertReceiver>,
    rx6: Option<AdvertReceiver>,
    /// (family, ifindex) where the VRRP group is joined: once per interface, however many
    /// instances share it.
    joined: std::collections::HashSet<(Family, u32)>,
    links: Option<futures_util::stream::BoxStream<'static, LinkEvent>>,
    ctl_rx: mpsc::Receiver<ControlRequest>,
    _ctl: control::ControlSocket,
    next_heartbeat: vrrp_core::Instant,
    next_file_poll: vrrp_core::Instant,
    file_values: HashMap<PathBuf, i64>,
    buf: Vec<u8>,
    /// Health checks and the IPVS table, once the configuration has a virtual server.
    lvs: Option<Lvs>,
    /// A health or role change happened this turn: recompute the IPVS table when it ends.
    lvs_dirty: bool,
}

impl Daemon {
    async fn start(config_path: PathBuf, cfg: Config) -> Result<Daemon> {
        let clock = Clock::start();
        let nl = Netlink::connect().context("rtnetlink")?;
        let (ctl_tx, ctl_rx) = mpsc::channel(16);
        let ctl = control::serve(&cfg.global.control_socket, ctl_tx)?;
        let (script_tx, script_rx) = mpsc::unbounded_channel();
        let script_user = match &cfg.global.script_user {
            Some(u) => Some(resolve_user(u).map_err(|e| anyhow!("global.script_user: {e}"))?),
            None => None,
        };
        let notifier = Notifier::spawn(
            cfg.global.notify_fifo.clone(),
            Duration::from_secs(30),
            script_user,
        );
        let links = Some(
            LinkEvents::subscribe()
                .context("subscribe to link events")?
                .into_stream()
                .boxed(),
        );
        let now = clock.now();
        let mut d = Daemon {
            config_path,
            cfg: cfg.clone(),
            clock,
            timer: DeadlineTimer::new().context("timerfd")?,
            vips: VipWorker::spawn(nl.clone()),
            nl,
            ifaces: BTreeMap::new(),
            advert_id: 0,
            txq: Pacer::default(),
            instances: Vec::new(),
            by_key: HashMap::new(),
            groups: Vec::new(),
            group_of: Vec::new(),
            scripts: BTreeMap::new(),
            script_tx,
            script_rx,
            notifier,
            rx4: None,
            rx6: None,
            joined: std::collections::HashSet::new(),
            links,
            ctl_rx,
            _ctl: ctl,
            next_heartbeat: now,
            next_file_poll: now,
            file_values: HashMap::new(),
            buf: vec![0; packet::MAX_MESSAGE_LEN],
            lvs: None,
            lvs_dirty: false,
        };
        d.lvs = Lvs::start(&cfg)?;
        d.start_scripts()?;
        for ic in cfg.instances.clone() {
            d.add_instance(ic, now).await;
        }
        d.build_groups();
        d.refresh_heartbeats();
        for i in 0..d.instances.len() {
            d.startup_instance(i, now).await;
        }
        d.refresh_lvs(now).await;
        tracing::info!(
            instances = d.instances.len(),
            interfaces = d.ifaces.len(),
            config = %d.config_path.display(),
            "vrrp-agent started"
        );
        Ok(d)
    }

    // ---- setup -------------------------------------------------------------------------

    /// Brings up an interface: stale VIPs of ours removed, XDP attached, settings written.
    async fn ensure_iface(&mut self, name: &str) -> Result<()> {
        if self.ifaces.contains_key(name) {
            return Ok(());
        }
        let link = self.nl.link_by_name(name).await?;
        let mac = link
            .mac
            .ok_or_else(|| anyhow!("interface {name} has no Ethernet address"))?;
        // A crashed agent may have left VIPs behind: remove every address carrying our mark
        // before electing, so no stale VIP survives a restart.
        for m in self.nl.marked_addresses(Some(link.ifindex)).await? {
            tracing::warn!(interface = name, addr = %m.addr, prefix = m.prefix_len, "removing stale VIP left by a previous run");
            self.nl.del_vip(link.ifindex, m.addr, m.prefix_len).await?;
        }
        let mode = match self.cfg.global.dataplane.xdp_mode {
            config::XdpMode::Auto => AttachMode::Auto,
            config::XdpMode::Driver => AttachMode::Driver,
            config::XdpMode::Generic => AttachMode::Skb,
        };
        let mut dp = DataPlane::load(name, mode)?;
        dp.set_settings(mac, false)?;
        let tx = PacketSender::open_index(link.ifindex, name)?;
        // The kernel must not announce a VIP with the interface MAC in its own ARP requests
        // (RFC 5798 §7.3: the virtual MAC is the VIP's only MAC): use the primary address.
        if let Err(e) = crate::io::sysctl::set_arp_announce(name, 2) {
            tracing::warn!(interface = name, error = %e, "cannot set arp_announce=2");
        }
        tracing::info!(interface = name, ifindex = link.ifindex, xdp = ?dp.attached_mode(), "data plane attached");
        let iface = IfaceRt {
            name: name.to_string(),
            index: link.ifindex,
            up: link.is_up(),
            dp,
            tx,
            txq: TxQueue::default(),
            unicast: None,
        };
        self.ifaces.insert(name.to_string(), iface);
        Ok(())
    }

    /// Creates the run-time instance; a missing interface or address leaves it in FAULT with
    /// the reason (a fault at run time, as `check` warned).
    async fn add_instance(&mut self, cfg: config::Instance, now: vrrp_core::Instant) {
        let idx = self.instances.len();
        let mut rt = InstanceRt::new(cfg);
        let _ = now;
        if let Err(e) = self.prepare_instance(&mut rt, idx).await {
            tracing::error!(instance = %rt.cfg.name, error = %format!("{e:#}"), "instance in FAULT");
            rt.fault = Some(format!("{e:#}"));
        }
        self.instances.push(rt);
        self.group_of.push(None);
    }

    /// An interface named `name` is up with `index`: instances that could not start on it (it
    /// was missing) or that were bound to an earlier interface of that name (deleted and made
    /// again) are prepared and started afresh.
    async fn rebind(&mut self, index: u32, name: &str, now: vrrp_core::Instant) {
        if self.ifaces.get(name).is_some_and(|f| f.index != index) {
            // The old device is gone; dropping its data plane detaches nothing that still exists.
            self.ifaces.remove(name);
        }
        let stale: Vec<usize> = (0..self.instances.len())
            .filter(|&i| {
                let inst = &self.instances[i];
                inst.cfg.interface == name && (inst.router.is_none() || inst.ifindex != Some(index))
            })
            .collect();
        for i in stale {
            let mut rt = InstanceRt::new(self.instances[i].cfg.clone());
            match self.prepare_instance(&mut rt, i).await {
                Ok(()) => {
                    tracing::info!(instance = %rt.cfg.name, interface = name, "interface present: instance starts");
                    self.instances[i] = rt;
                    self.startup_instance(i, now).await;
                }
                Err(e) => {
                    tracing::error!(instance = %rt.cfg.name, error = %format!("{e:#}"), "instance still in FAULT");
                    self.instances[i].fault = Some(format!("{e:#}"));
                }
            }
        }
    }

    async fn prepare_instance(&mut self, rt: &mut InstanceRt, idx: usize) -> Result<()> {
        let ifname = rt.cfg.interface.clone();
        self.ensure_iface(&ifname).await?;
        let ifindex = self.ifaces[&ifname].index;
        let primary = match rt.cfg.unicast_src {
            Some(a) => a,
            None => self.primary_address(ifindex, rt).await?,
        };
        let rc = instance::router_config(&rt.cfg, primary)?;
        let router = vrrp_core::VirtualRouter::new(rc).map_err(|e| anyhow!("{e}"))?;
        let iface = self
            .ifaces
            .get_mut(&ifname)
            .ok_or_else(|| anyhow!("interface {ifname} vanished"))?;
        let flags = if rt.cfg.v3_checksum_as_v2 {
            ROUTER_FLAG_V3_CSUM_AS_V2
        } else {
            0
        };
        iface.dp.set_router(
            proto_family(rt.family),
            rt.cfg.vrid,
            DpRole::Init,
            version_u8(&rt.cfg),
            flags,
        )?;
        for v in instance::installed(&rt.cfg) {
            if v.device.as_deref().is_none_or(|d| d == ifname) {
                iface.dp.add_vip(v.address, rt.cfg.vrid)?;
            }
        }
        if let Err(e) = self.nl.add_unicast_filter(ifindex, rt.vmac).await {
            tracing::debug!(interface = %ifname, error = %e, "virtual MAC not added to the unicast filter");
        }
        match rt.family {
            Family::V4 => {
                if self.rx4.is_none() {
                    self.rx4 = Some(AdvertReceiver::open_v4()?);
                }
                if let Some(rx) = &self.rx4
                    && self.joined.insert((Family::V4, ifindex))
                {
                    rx.join(ifindex)
                        .with_context(|| format!("join 224.0.0.18 on {ifname}"))?;
                }
            }
            Family::V6 => {
                if self.rx6.is_none() {
                    self.rx6 = Some(AdvertReceiver::open_v6()?);
                }
                if let Some(rx) = &self.rx6
                    && self.joined.insert((Family::V6, ifindex))
                {
                    rx.join(ifindex)
                        .with_context(|| format!("join ff02::12 on {ifname}"))?;
                }
            }
        }
        rt.ifindex = Some(ifindex);
        rt.primary = Some(primary);
        rt.router = Some(router);
        self.by_key.insert((ifindex, rt.family, rt.cfg.vrid), idx);
        Ok(())
    }

    /// The advert source (RFC 5798 §5.1.1.1, §5.1.2.1): for IPv4 the interface's first IPv4
    /// address that is not a VIP; for IPv6 its link-local address.
    async fn primary_address(&self, ifindex: u32, rt: &InstanceRt) -> Result<IpAddr> {
        let _ = ifindex;
        let vips: Vec<IpAddr> = instance::installed(&rt.cfg).map(|v| v.address).collect();
        let addrs = interface_addresses(&rt.cfg.interface)?;
        let found = addrs.into_iter().find(|a| match (rt.family, a) {
            (Family::V4, IpAddr::V4(_)) => !vips.contains(a),
            (Family::V6, IpAddr::V6(v6)) => v6.segments()[0] & 0xffc0 == 0xfe80,
            _ => false,
        });
        found.ok_or_else(|| {
            anyhow!(
                "interface {} has no {} to send adverts from",
                rt.cfg.interface,
                if rt.family == Family::V4 {
                    "IPv4 address"
                } else {
                    "IPv6 link-local address"
                }
            )
        })
    }

    fn build_groups(&mut self) {
        self.groups.clear();
        self.group_of.iter_mut().for_each(|g| *g = None);
        for g in &self.cfg.sync_groups {
            let members: Vec<usize> = g
                .instances
                .iter()
                .filter_map(|n| self.instances.iter().position(|i| &i.cfg.name == n))
                .collect();
            let gi = self.groups.len();
            for m in &members {
                self.group_of[*m] = Some(gi);
            }
            self.groups.push((g.clone(), SyncGroup::new(members)));
        }
    }

    fn start_scripts(&mut self) -> Result<()> {
        let mut keep: BTreeMap<String, ScriptRt> = std::mem::take(&mut self.scripts);
        for s in self.cfg.scripts.clone() {
            if let Some(old) = keep.remove(&s.name) {
                if old.cfg == s {
                    self.scripts.insert(s.name.clone(), old);
                    continue;
                }
                old.task.abort();
            }
            if self.cfg.global.enable_script_security
                && let Some(prog) = s.command.first()
            {
                check_script_security(prog).map_err(|e| anyhow!("script {}: {e}", s.name))?;
            }
            // keepalived: a script's own user, else global script_user, else root.
            let run_as = match s.user.as_ref().or(self.cfg.global.script_user.as_ref()) {
                Some(u) => Some(resolve_user(u).map_err(|e| anyhow!("script {}: {e}", s.name))?),
                None => None,
            };
            let tx = self.script_tx.clone();
            let (name, argv, interval, timeout) =
                (s.name.clone(), s.command.clone(), s.interval.0, s.timeout.0);
            let task = tokio::spawn(async move {
                let mut tick = tokio::time::interval(interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    let ok = run_as_with_timeout(&argv, timeout, run_as).await.success();
                    if tx.send((name.clone(), ok)).is_err() {
                        return;
                    }
                }
            });
            let rf = RiseFall::new(s.rise, s.fall, true);
            self.scripts
                .insert(s.name.clone(), ScriptRt { cfg: s, rf, task });
        }
        for (_, old) in keep {
            old.task.abort();
        }
        Ok(())
    }

    async fn startup_instance(&mut self, i: usize, now: vrrp_core::Instant) {
        self.apply_tracking(i, now, true);
        let up = self.instances[i]
            .ifindex
            .and_then(|ix| self.ifaces.values().find(|f| f.index == ix))
            .is_none_or(|f| f.up);
        if let Some(r) = self.instances[i].router.as_mut() {
            r.handle_input(now, Input::Startup);
            if !up {
                r.handle_input(now, Input::InterfaceDown);
            }
        }
        self.drive(i, now).await;
    }

    // ---- the loop ----------------------------------------------------------------------

    async fn event_loop(&mut self) -> Result<()> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        self.update_pacing();
        loop {
            let deadline = self.next_deadline();
            let ev = tokio::select! {
                _ = term.recv() => Event::Stop("SIGTERM"),
                _ = int.recv() => Event::Stop("SIGINT"),
                _ = hup.recv() => Event::Reload,
                r = recv_opt(self.rx4.as_mut()) => Event::Rx(r),
                r = recv_opt(self.rx6.as_mut()) => Event::Rx(r),
                Some(ev) = next_link(&mut self.links) => Event::Link(ev),
                Some((n, ok)) = self.script_rx.recv() => Event::Script(n, ok),
                Some(h) = recv_health(self.lvs.as_mut()) => Event::Health(h),
                Some(req) = self.ctl_rx.recv() => Event::Control(req),
                r = self.timer.wait_until(&self.clock, deadline) => match r {
                    Ok(()) => Event::Timer,
                    Err(e) => {
                        tracing::error!(error = %e, "timer");
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        Event::Timer
                    }
                },
            };
            let now = self.clock.now();
            match ev {
                Event::Stop(sig) => {
                    tracing::info!(signal = sig, "stopping");
                    return Ok(());
                }
                Event::Reload => {
                    self.reload(now).await;
                    self.update_pacing();
                }
                Event::Rx(Ok(pkt)) => {
                    self.on_advert(pkt, now).await;
                    self.drain_adverts(now).await;
                }
                Event::Rx(Err(e)) if e.is_per_packet() => {
                    tracing::debug!(error = %e, "advert dropped")
                }
                Event::Rx(Err(e)) => {
                    tracing::error!(error = %e, "advert socket");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Event::Link(ev) => self.on_link(ev, now).await,
                Event::Script(name, ok) => self.on_script(&name, ok, now).await,
                Event::Health(h) => {
                    tracing::info!(
                        virtual_server = %h.key.vs,
                        real_server = %h.key.addr,
                        port = h.key.port,
                        up = h.up,
                        detail = %h.detail,
                        "real server health changed"
                    );
                    self.lvs_dirty = true;
                }
                Event::Control(req) => {
                    let ControlCommand::Status = req.command;
                    let _ = req
                        .reply
                        .send(serde_json::to_string(&self.status()).unwrap_or_default());
                }
                Event::Timer => {}
            }
            self.on_timers(self.clock.now()).await;
            self.flush_tx(false);
            if self.lvs_dirty {
                self.refresh_lvs(self.clock.now()).await;
            }
        }
    }

    /// Takes in the adverts already queued behind the one that woke the loop (up to
    /// `RX_BURST` per socket), so a burst costs one pass over every instance's deadlines instead
    /// of one per advert: at 1,000 instances × 10 ms a Backup hears 100,000 adverts a second.
    async fn drain_adverts(&mut self, now: vrrp_core::Instant) {
        for v6 in [false, true] {
            for _ in 0..RX_BURST {
                let rx = if v6 {
                    self.rx6.as_mut()
                } else {
                    self.rx4.as_mut()
                };
                let Some(r) = rx.and_then(|r| r.try_recv()) else {
                    break;
                };
                match r {
                    Ok(pkt) => self.on_advert(pkt, now).await,
                    Err(e) if e.is_per_packet() => {
                        tracing::debug!(error = %e, "advert dropped")
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "advert socket");
                        break;
                    }
                }
            }
        }
    }

    /// Sends the frames queued during this turn of the event loop: one `sendmmsg` per interface
    /// for up to `pacer::CHUNK` frames, however many instances had an advert due (issue 7:
    /// adverts due in the same tick leave in one batch); a larger batch leaves in chunks on the
    /// pacer's slot grid, the rest at later turns. A frame the kernel refused (socket buffer full) is dropped and
    /// charged to its instance; the protocol tolerates a lost advert (RFC 5798 §6.1: the
    /// Master_Down_Interval spans three).
    ///
    /// `all`: everything queued leaves now, paced or not (shutdown, reload).
    fn flush_tx(&mut self, all: bool) {
        if self.txq.is_empty() {
            return;
        }
        let frames = if all {
            self.txq.drain()
        } else {
            self.txq.take_due(self.clock.now())
        };
        // One sendmmsg per interface, each in the order queued.
        let mut by_iface: BTreeMap<&str, Vec<(usize, Vec<u8>)>> = BTreeMap::new();
        for (i, f) in frames {
            if let Some(inst) = self.instances.get(i) {
                by_iface
                    .entry(inst.cfg.interface.as_str())
                    .or_default()
                    .push((i, f));
            }
        }
        let mut failed = Vec::new();
        for (name, frames) in by_iface {
            let Some(iface) = self.ifaces.get_mut(name) else {
                failed.extend(frames.iter().map(|(i, _)| *i));
                continue;
            };
            let refs: Vec<&[u8]> = frames.iter().map(|(_, f)| f.as_slice()).collect();
            let sent = match iface.tx.send_batch(&refs) {
                Ok(calls) => {
                    iface.txq.syscalls += calls as u64;
                    frames.len()
                }
                Err(e) => {
                    iface.txq.syscalls += 1;
                    tracing::warn!(error = %e, unsent = frames.len() - e.sent, "frames not sent");
                    e.sent
                }
            };
            iface.txq.sent += sent as u64;
            failed.extend(frames[sent..].iter().map(|(i, _)| *i));
        }
        for i in failed {
            if let Some(inst) = self.instances.get_mut(i) {
                inst.tx_errors += 1;
            }
        }
    }

    /// Transmit pacing spreads a burst over at most half the shortest advert interval
    /// configured (`pacer`), so even the last chunk leaves well before the next round.
    fn update_pacing(&mut self) {
        let shortest = self
            .instances
            .iter()
            .map(|i| i.cfg.advert_interval.0)
            .min()
            .unwrap_or(pacer::DEFAULT_SPREAD * 2);
        self.txq.set_max_spread(shortest / 2);
    }

    fn next_deadline(&self) -> vrrp_core::Instant {
        let mut next = self.next_heartbeat.min(self.next_file_poll);
        if let Some(t) = self.txq.next_due() {
            next = next.min(t);
        }
        for i in &self.instances {
            if let Some(t) = i.router.as_ref().and_then(|r| r.poll_timeout()) {
                next = next.min(t);
            }
            if let Some(t) = i.announce.next() {
                next = next.min(t);
            }
        }
        next
    }

    async fn on_timers(&mut self, now: vrrp_core::Instant) {
        if now >= self.next_heartbeat {
            self.refresh_heartbeats();
        }
        if now >= self.next_file_poll {
            self.next_file_poll = now + Duration::from_secs(1);
            self.poll_track_files(now);
        }
        let due_at = |inst: &InstanceRt| {
            inst.router
                .as_ref()
                .and_then(|r| r.poll_timeout())
                .is_some_and(|t| t <= now)
        };
        if self.instances.iter().any(due_at) {
            // Advert absorption: one wake-up re-arms every absorbing Backup from its Master's
            // last sighting, not only the instance that is due. Their Master_Down_Timers then
            // stay in phase with the Masters' batched adverts, and the loop wakes about once per
            // Master_Down_Interval for all of them instead of once per instance.
            for i in 0..self.instances.len() {
                let inst = &mut self.instances[i];
                let dp = self.ifaces.get(&inst.cfg.interface).map(|f| &f.dp);
                if absorb::refresh(inst, dp, &self.clock, now) {
                    self.drive(i, now).await;
                }
            }
        }
        for i in 0..self.instances.len() {
            let due = due_at(&self.instances[i]);
            if due {
                // Advert absorption: adverts XDP absorbed re-arm the Master_Down_Timer first
                // (also right after a reload turned the switch off: the record is still on).
                let inst = &mut self.instances[i];
                let dp = self.ifaces.get(&inst.cfg.interface).map(|f| &f.dp);
                absorb::refresh(inst, dp, &self.clock, now);
                if let Some(r) = self.instances[i].router.as_mut() {
                    r.handle_timeout(now);
                }
                self.drive(i, now).await;
            }
            if self.instances[i].announce.next().is_some_and(|t| t <= now) {
                let g = self.instances[i].cfg.garp.clone();
                let rounds = self.instances[i].announce.take_due(now, &g);
                for _ in 0..rounds {
                    self.announce(i);
                }
            }
        }
    }

    fn refresh_heartbeats(&mut self) {
        let bound = self.cfg.global.dataplane.deadman_timeout.0;
        for f in self.ifaces.values_mut() {
            if let Err(e) = f.dp.refresh_heartbeat(bound) {
                tracing::error!(interface = %f.name, error = %e, "heartbeat");
            }
        }
        // Refresh four times per bound: one late wake-up never lets it lapse.
        self.next_heartbeat = self.clock.now() + bound / 4;
    }

    // ---- inputs ------------------------------------------------------------------------

    /// A VRRP packet from a raw socket. RFC 5798 §7.1 / RFC 3768 §7.1 receive checks happen
    /// here (the XDP program screened the same before; this is defence in depth and covers
    /// interfaces without XDP), then the core decides.
    async fn on_advert(&mut self, pkt: RxAdvert, now: vrrp_core::Instant) {
        let family = if pkt.src.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        };
        // The VRID is the second byte of either version's header (RFC 5798 §5.2.3).
        let Some(&vrid) = pkt.payload.get(1) else {
            return;
        };
        let Some(&i) = self.by_key.get(&(pkt.ifindex, family, vrid)) else {
            tracing::trace!(ifindex = pkt.ifindex, vrid, src = %pkt.src, "advert for a VRID not configured here");
            return;
        };
        let inst = &mut self.instances[i];
        // RFC 5798 §7.1: "MUST verify that the IP TTL/Hop Limit is 255".
        if pkt.ttl != 255 {
            inst.rx_dropped += 1;
            tracing::debug!(instance = %inst.cfg.name, src = %pkt.src, ttl = pkt.ttl, "advert with TTL != 255 dropped");
            return;
        }
        // Unicast mode accepts only configured peers (keepalived unicast_peer).
        if !inst.cfg.unicast_peers.is_empty() && !inst.cfg.unicast_peers.contains(&pkt.src) {
            inst.rx_dropped += 1;
            tracing::debug!(instance = %inst.cfg.name, src = %pkt.src, "advert from an address that is not a unicast peer");
            return;
        }
        let endpoints = match (pkt.src, pkt.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => Endpoints::V4 {
                src: s.octets(),
                dst: d.octets(),
            },
            (IpAddr::V6(s), IpAddr::V6(d)) => Endpoints::V6 {
                src: s.octets(),
                dst: d.octets(),
            },
            _ => return,
        };
        let checksum = if inst.cfg.v3_checksum_as_v2 {
            ChecksumMode::AcceptEither
        } else {
            ChecksumMode::Rfc
        };
        let adv = match packet::decode(
            &pkt.payload,
            DecodeCtx {
                endpoints,
                checksum,
            },
        ) {
            Ok(a) => a,
            Err(e) => {
                inst.rx_dropped += 1;
                tracing::debug!(instance = %inst.cfg.name, src = %pkt.src, error = ?e, "malformed advert dropped");
                return;
            }
        };
        let (version, max_adver_int) = match adv.fields.version {
            VersionFields::V2 { auth, adver_int_s } => {
                // RFC 3768 §7.1: the authentication type must match ours, and for simple text
                // the password must match, else discard.
                if auth != inst.auth() {
                    inst.rx_dropped += 1;
                    tracing::warn!(instance = %inst.cfg.name, src = %pkt.src, "v2 advert with a different authentication dropped (RFC 3768 §7.1)");
                    return;
                }
                (Version::V2, Centis::from_secs(adver_int_s))
            }
            VersionFields::V3 { max_adver_int_cs } => (Version::V3, Centis::new(max_adver_int_cs)),
        };
        let Some(max_adver_int) = max_adver_int else {
            inst.rx_dropped += 1;
            return;
        };
        let addresses = match adv.addrs {
            Addrs::V4(a) => a.iter().map(|o| IpAddr::from(*o)).collect(),
            Addrs::V6(a) => a.iter().map(|o| IpAddr::from(*o)).collect(),
        };
        let ra = ReceivedAdvert {
            src: pkt.src,
            version,
            priority: adv.fields.priority,
            max_adver_int,
            addresses,
        };
        let routine = self.cfg.global.dataplane.absorb_adverts.then(|| ra.clone());
        if let Some(r) = inst.router.as_mut() {
            r.handle_input(now, Input::Advert(ra));
        }
        if let Some(ra) = routine {
            absorb::on_advert(inst, &ra, &pkt.payload, now);
        }
        self.drive(i, now).await;
    }

    async fn on_link(&mut self, ev: LinkEvent, now: vrrp_core::Instant) {
        let (index, name, up) = match ev {
            LinkEvent::Up { ifindex, name } => (ifindex, name, true),
            LinkEvent::Down { ifindex, name } | LinkEvent::Removed { ifindex, name } => {
                (ifindex, name, false)
            }
        };
        if up {
            self.rebind(index, &name, now).await;
        }
        let mut changed = false;
        for f in self.ifaces.values_mut() {
            if f.index == index && f.up != up {
                f.up = up;
                changed = true;
                tracing::info!(interface = %f.name, up, "link state");
            }
        }
        let track_affected: Vec<usize> = (0..self.instances.len())
            .filter(|&i| {
                self.instances[i]
                    .cfg
                    .track
                    .interfaces
                    .iter()
                    .any(|t| t.name == name)
            })
            .collect();
        if changed {
            for i in 0..self.instances.len() {
                if self.instances[i].ifindex == Some(index) {
                    if let Some(r) = self.instances[i].router.as_mut() {
                        r.handle_input(
                            now,
                            if up {
                                Input::InterfaceUp
                            } else {
                                Input::InterfaceDown
                            },
                        );
                    }
                    self.drive(i, now).await;
                }
            }
        }
        for i in track_affected {
            self.apply_tracking(i, now, false);
            self.drive(i, now).await;
        }
    }

    async fn on_script(&mut self, name: &str, ok: bool, now: vrrp_core::Instant) {
        let Some(s) = self.scripts.get_mut(name) else {
            return;
        };
        let Some(up) = s.rf.record(ok) else { return };
        tracing::info!(script = name, up, "track script changed state");
        for i in 0..self.instances.len() {
            if self.instances[i]
                .cfg
                .track
                .scripts
                .iter()
                .any(|t| t.name == name)
            {
                self.apply_tracking(i, now, false);
                self.drive(i, now).await;
            }
        }
    }

    fn poll_track_files(&mut self, now: vrrp_core::Instant) {
        let mut changed = false;
        for i in &self.instances {
            for f in &i.cfg.track.files {
                // keepalived track_file: an integer; a missing or unreadable file reads as 0... we
                // treat it as a failure (value 1) so it cannot silently pass.
                let v = std::fs::read_to_string(&f.path)
                    .ok()
                    .and_then(|s| s.trim().parse::<i64>().ok())
                    .unwrap_or(1);
                if self.file_values.insert(f.path.clone(), v) != Some(v) {
                    changed = true;
                }
            }
        }
        if changed {
            for i in 0..self.instances.len() {
                if !self.instances[i].cfg.track.files.is_empty() {
                    self.apply_tracking(i, now, false);
                }
            }
        }
    }

    /// Recomputes an instance's tracking verdict and feeds changes to its core. The caller
    /// drives the instance afterwards.
    fn apply_tracking(&mut self, i: usize, now: vrrp_core::Instant, initial: bool) {
        let inst = &self.instances[i];
        let mut objs = Vec::new();
        for t in &inst.cfg.track.scripts {
            let up = self.scripts.get(&t.name).is_none_or(|s| s.rf.is_up());
            objs.push(Tracked::UpDown {
                up,
                weight: i32::from(t.weight),
            });
        }
        for t in &inst.cfg.track.interfaces {
            let up = self.ifaces.get(&t.name).map(|f| f.up).unwrap_or_else(|| {
                std::fs::read_to_string(format!("/sys/class/net/{}/operstate", t.name))
                    .is_ok_and(|s| s.trim() == "up")
            });
            objs.push(Tracked::UpDown {
                up,
                weight: i32::from(t.weight),
            });
        }
        for t in &inst.cfg.track.files {
            let value = self.file_values.get(&t.path).copied().unwrap_or(0);
            objs.push(Tracked::File {
                value,
                weight: i32::from(t.weight),
            });
        }
        if let Some(l) = &self.lvs {
            objs.extend(l.tracked(&inst.cfg.name));
        }
        let v = verdict(objs);
        let inst = &mut self.instances[i];
        let Some(r) = inst.router.as_mut() else {
            return;
        };
        if initial || v.delta != inst.track_delta {
            inst.track_delta = v.delta;
            r.handle_input(now, Input::TrackWeight(v.delta));
        }
        if v.fault != inst.track_fault {
            inst.track_fault = v.fault;
            r.handle_input(
                now,
                if v.fault {
                    Input::ForceFault
                } else {
                    Input::ClearFault
                },
            );
        }
    }

    // ---- actions -----------------------------------------------------------------------

    /// Carries out every queued action of instance `first`, and of the sync-group members its
    /// transitions move, in order.
    async fn drive(&mut self, first: usize, now: vrrp_core::Instant) {
        let mut work = VecDeque::from([first]);
        while let Some(i) = work.pop_front() {
            while let Some(action) = self.instances[i]
                .router
                .as_mut()
                .and_then(|r| r.poll_action())
            {
                if let Some(g) = self.group_of[i] {
                    for (m, input) in self.groups[g].1.on_action(&i, &action) {
                        if let Some(r) = self.instances[m].router.as_mut() {
                            r.handle_input(now, input);
                            work.push_back(m);
                        }
                    }
                }
                self.execute(i, action, now).await;
            }
            self.absorb_sync(i);
        }
    }

    /// Advert absorption: the instance's XDP record follows the core's view (`absorb::sync`).
    fn absorb_sync(&mut self, i: usize) {
        let enabled = self.cfg.global.dataplane.absorb_adverts;
        let inst = &mut self.instances[i];
        let dp = self.ifaces.get_mut(&inst.cfg.interface).map(|f| &mut f.dp);
        absorb::sync(inst, dp, enabled);
    }

    async fn execute(&mut self, i: usize, action: Action, now: vrrp_core::Instant) {
        match action {
            Action::SendAdvert { priority } => self.send_advert(i, priority),
            Action::Announce => {
                let g = self.instances[i].cfg.garp.clone();
                self.instances[i].announce.start(now, &g);
                let rounds = self.instances[i].announce.take_due(now, &g);
                for _ in 0..rounds {
                    self.announce(i);
                }
            }
            Action::AddVips => self.set_vips(i, true),
            Action::RemoveVips => {
                self.instances[i].announce.stop();
                self.set_vips(i, false);
            }
            Action::SetRole(role) => self.set_role(i, role),
            Action::StateChanged(t) => self.on_transition(i, t),
            Action::Warning(w) => {
                tracing::warn!(instance = %self.instances[i].cfg.name, warning = ?w, "advert")
            }
        }
    }

    /// Sends one advert (RFC 5798 §6.4.3, §5.1). Multicast: an Ethernet frame from the virtual
    /// MAC to the VRRP group over AF_PACKET (§7.3, §8.1.2). Unicast peers (keepalived
    /// `unicast_peer`): one IP packet per peer through a raw socket, TTL 255, TOS 0xc0.
    fn send_advert(&mut self, i: usize, priority: u8) {
        let inst = &mut self.instances[i];
        let Some(iface) = self.ifaces.get_mut(&inst.cfg.interface) else {
            return;
        };
        if inst.cfg.unicast_peers.is_empty() {
            self.advert_id = self.advert_id.wrapping_add(1);
            let id = self.advert_id;
            let res = inst
                .encode_advert(priority, None, &mut self.buf)
                .and_then(|n| build_advert_frame(inst, id, &self.buf[..n]));
            match res {
                Ok(frame) => self.txq.push((i, frame)),
                Err(e) => {
                    inst.tx_errors += 1;
                    tracing::warn!(instance = %inst.cfg.name, error = %format!("{e:#}"), "advert not built");
                }
            }
            return;
        }
        if iface.unicast.is_none() {
            match UnicastSender::open(&iface.name, false)
                .map(|v4| (v4, UnicastSender::open(&iface.name, true).ok()))
            {
                Ok(u) => iface.unicast = Some(u),
                Err(e) => {
                    inst.tx_errors += 1;
                    tracing::error!(interface = %iface.name, error = %e, "unicast advert socket");
                    return;
                }
            }
        }
        let Some((u4, u6)) = &iface.unicast else {
            return;
        };
        for peer in inst.cfg.unicast_peers.clone() {
            let res = inst
                .encode_advert(priority, Some(peer), &mut self.buf)
                .and_then(|n| {
                    let sock = if peer.is_ipv4() {
                        Some(u4)
                    } else {
                        u6.as_ref()
                    };
                    let sock = sock.ok_or_else(|| anyhow!("no IPv6 unicast socket"))?;
                    sock.send(inst.primary, peer, &self.buf[..n])
                        .map_err(|e| anyhow!("{e}"))
                });
            if let Err(e) = res {
                inst.tx_errors += 1;
                tracing::warn!(instance = %inst.cfg.name, %peer, error = %format!("{e:#}"), "unicast advert not sent");
            }
        }
    }

    /// One round of gratuitous ARP / unsolicited NA for every installed VIP, from the virtual MAC
    /// (RFC 5798 §6.4.1 (2)/(3), §8.1.2).
    fn announce(&mut self, i: usize) {
        let inst = &self.instances[i];
        if !self.ifaces.contains_key(&inst.cfg.interface) {
            return;
        }
        for v in instance::installed(&inst.cfg) {
            let frame = match v.address {
                IpAddr::V4(a) => frame::gratuitous_arp(inst.vmac, a),
                IpAddr::V6(a) => frame::unsolicited_na(inst.vmac, a, a),
            };
            self.txq.push((i, frame));
        }
    }

    /// Tells the VIP worker the instance's VIPs must now be present or absent, so the event loop
    /// never waits for netlink (the advert and the XDP role go out first).
    fn set_vips(&mut self, i: usize, add: bool) {
        let inst = &self.instances[i];
        // RFC 5798 §6.1 Accept_Mode false: the Master must not accept packets addressed to the
        // VIPs (unless it owns them), so they are not made local addresses at all; XDP still
        // answers ARP/ND for them and frames to the virtual MAC are still forwarded.
        if !inst.cfg.accept_mode && !inst.cfg.address_owner {
            return;
        }
        let vips = instance::installed(&inst.cfg)
            .map(|v| {
                (
                    v.device
                        .clone()
                        .unwrap_or_else(|| inst.cfg.interface.clone()),
                    v.clone(),
                )
            })
            .collect();
        self.vips.set(&inst.cfg.name, Wish { add, vips });
    }

    /// Waits until every queued VIP change is done.
    async fn flush_vips(&self) {
        self.vips.flush().await;
    }

    fn set_role(&mut self, i: usize, role: Role) {
        let inst = &self.instances[i];
        let Some(iface) = self.ifaces.get_mut(&inst.cfg.interface) else {
            return;
        };
        let dp_role = match role {
            Role::Inactive => DpRole::Init,
            Role::Backup => DpRole::Backup,
            Role::Master { .. } => DpRole::Master,
        };
        let flags = if inst.cfg.v3_checksum_as_v2 {
            ROUTER_FLAG_V3_CSUM_AS_V2
        } else {
            0
        };
        if let Err(e) = iface.dp.set_router(
            proto_family(inst.family),
            inst.cfg.vrid,
            dp_role,
            version_u8(&inst.cfg),
            flags,
        ) {
            tracing::error!(instance = %inst.cfg.name, error = %e, "data plane role");
        }
    }

    fn on_transition(&mut self, i: usize, t: vrrp_core::Transition) {
        let inst = &mut self.instances[i];
        let prio = inst.router.as_ref().map_or(0, |r| r.effective_priority());
        let master = inst.router.as_ref().and_then(|r| r.master_address());
        tracing::info!(
            instance = %inst.cfg.name,
            interface = %inst.cfg.interface,
            vrid = inst.cfg.vrid,
            from = %t.from,
            to = %t.to,
            reason = ?t.reason,
            priority = prio,
            master = ?master,
            at_ms = t.at.as_micros() as f64 / 1000.0,
            "transition"
        );
        if t.from != t.to && self.lvs.as_ref().is_some_and(|l| l.follows(&inst.cfg.name)) {
            self.lvs_dirty = true;
        }
        if t.from == t.to || inst.notified == Some(t.to) {
            return;
        }
        inst.notified = Some(t.to);
        let state = match t.to {
            State::Master => NotifyState::Master,
            State::Backup => NotifyState::Backup,
            State::Fault => NotifyState::Fault,
            State::Initialize => NotifyState::Stop,
        };
        let n = &inst.cfg.notify;
        let scripts = NotifyScripts {
            master: n.master.clone(),
            backup: n.backup.clone(),
            fault: n.fault.clone(),
            stop: n.stop.clone(),
            any: n.any.clone(),
        };
        self.notifier.notify(
            &scripts,
            Notification {
                kind: NotifyKind::Instance,
                name: inst.cfg.name.clone(),
                state,
                priority: prio,
            },
        );
        if let Some(g) = self.group_of[i] {
            self.notify_group(g, state, prio);
        }
    }

    /// A group notification when every member agrees on the new state (keepalived notifies a
    /// sync group once it has moved as a whole).
    fn notify_group(&mut self, g: usize, state: NotifyState, prio: u8) {
        let (cfg, sg) = &self.groups[g];
        let all = sg.members().iter().all(|m| {
            self.instances[*m]
                .notified
                .is_some_and(|s| notify_state(s) == state)
        });
        if !all {
            return;
        }
        let n = &cfg.notify;
        let scripts = NotifyScripts {
            master: n.master.clone(),
            backup: n.backup.clone(),
            fault: n.fault.clone(),
            stop: None,
            any: n.any.clone(),
        };
        self.notifier.notify(
            &scripts,
            Notification {
                kind: NotifyKind::Group,
                name: cfg.name.clone(),
                state,
                priority: prio,
            },
        );
    }

    // ---- reload and shutdown -----------------------------------------------------------

    /// SIGHUP: a bad file keeps the running config; a good one is applied as a diff, so
    /// unchanged instances keep their state and VIPs (no flap).
    async fn reload(&mut self, now: vrrp_core::Instant) {
        // Paced frames name their instance by index, which a reload may change: send them first.
        self.flush_tx(true);
        let new = match Config::load(&self.config_path) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!("reload refused, the running configuration stays in force:\n{e}");
                return;
            }
        };
        let origin = self.config_path.display().to_string();
        for w in new.warnings() {
            tracing::warn!("{}", w.display_with(&origin));
        }
        // LVS first: a refused check script leaves the whole running configuration in force.
        let lvs_res = match self.lvs.as_mut() {
            Some(l) => l.reload(&new).map(|()| None),
            None => Lvs::start(&new),
        };
        match lvs_res {
            Ok(Some(l)) => self.lvs = Some(l),
            Ok(None) => {}
            Err(e) => {
                tracing::error!("reload refused, the running configuration stays in force: {e:#}");
                return;
            }
        }
        let old_instances = std::mem::take(&mut self.instances);
        let mut kept = Vec::new();
        for inst in old_instances {
            match new.instance(&inst.cfg.name) {
                Some(c) if *c == inst.cfg => kept.push(inst),
                _ => {
                    tracing::info!(instance = %inst.cfg.name, "instance removed or changed by reload");
                    self.instances.push(inst);
                    let idx = self.instances.len() - 1;
                    self.stop_instance(idx, now).await;
                    self.instances.pop();
                }
            }
        }
        self.cfg = new.clone();
        if let Err(e) = self.start_scripts() {
            tracing::error!(error = %format!("{e:#}"), "track scripts after reload");
        }
        self.instances = kept;
        self.group_of = vec![None; self.instances.len()];
        self.by_key.clear();
        for (idx, inst) in self.instances.iter().enumerate() {
            if let Some(ix) = inst.ifindex {
                self.by_key.insert((ix, inst.family, inst.cfg.vrid), idx);
            }
        }
        let mut started = Vec::new();
        for c in &new.instances {
            if !self.instances.iter().any(|i| i.cfg.name == c.name) {
                self.add_instance(c.clone(), now).await;
                started.push(self.instances.len() - 1);
            }
        }
        self.build_groups();
        for i in started {
            tracing::info!(instance = %self.instances[i].cfg.name, "instance added by reload");
            self.startup_instance(i, now).await;
        }
        self.lvs_dirty = true;
        for i in 0..self.instances.len() {
            self.apply_tracking(i, now, false);
            self.drive(i, now).await;
        }
        tracing::info!(instances = self.instances.len(), "configuration reloaded");
    }

    /// Shutdown event for one instance (priority-0 advert if Master, VIPs removed) and its
    /// data-plane entries cleared.
    async fn stop_instance(&mut self, i: usize, now: vrrp_core::Instant) {
        if let Some(r) = self.instances[i].router.as_mut() {
            r.handle_input(now, Input::Shutdown);
        }
        self.drive(i, now).await;
        // The priority-0 advert (RFC 5798 §6.4.3) leaves now, before the interface may go.
        self.flush_tx(true);
        let inst = &self.instances[i];
        if let Some(iface) = self.ifaces.get_mut(&inst.cfg.interface) {
            let _ = iface.dp.set_router(
                proto_family(inst.family),
                inst.cfg.vrid,
                DpRole::Unconfigured,
                0,
                0,
            );
            for v in instance::installed(&inst.cfg) {
                let _ = iface.dp.remove_vip(v.address);
            }
            let (index, vmac) = (iface.index, inst.vmac);
            let _ = self.nl.del_unicast_filter(index, vmac).await;
        }
    }

    async fn shutdown(&mut self) {
        let now = self.clock.now();
        for i in 0..self.instances.len() {
            self.stop_instance(i, now).await;
        }
        // Every VIP removal must be done before the process exits.
        self.flush_vips().await;
        if let Some(l) = self.lvs.take() {
            l.shutdown();
        }
        for (_, s) in std::mem::take(&mut self.scripts) {
            s.task.abort();
        }
        for (name, mut f) in std::mem::take(&mut self.ifaces) {
            if let Err(e) = f.dp.detach() {
                tracing::warn!(interface = %name, error = %e, "XDP detach");
            }
        }
        tracing::info!("stopped: priority-0 adverts sent, VIPs removed, XDP detached");
    }

    // ---- LVS ---------------------------------------------------------------------------

    /// Whether instance `name` is Master now.
    fn is_master(&self, name: &str) -> bool {
        self.instances
            .iter()
            .any(|i| i.cfg.name == name && i.state() == State::Master)
    }

    /// Recomputes the IPVS table after health or role changes; quorum changes move the
    /// priority of their instance (`quorum_weight`).
    async fn refresh_lvs(&mut self, now: vrrp_core::Instant) {
        self.lvs_dirty = false;
        let Some(mut l) = self.lvs.take() else { return };
        let changes = l.refresh(&|n| self.is_master(n));
        self.lvs = Some(l);
        for c in changes {
            let Some(inst) = self
                .cfg
                .virtual_servers
                .iter()
                .find(|v| v.name == c.vs)
                .and_then(|v| v.instance.clone())
            else {
                continue;
            };
            if let Some(i) = self.instances.iter().position(|x| x.cfg.name == inst) {
                self.apply_tracking(i, now, false);
                self.drive(i, now).await;
            }
        }
    }

    // ---- status ------------------------------------------------------------------------

    fn status(&self) -> Status {
        let uptime_ms = self.clock.now().as_micros() / 1000;
        let instances = self
            .instances
            .iter()
            .map(|i| {
                let r = i.router.as_ref();
                let mut counters = BTreeMap::new();
                if let Some(r) = r {
                    let c = r.counters();
                    counters.insert("adverts_received".into(), c.adverts_received);
                    counters.insert("adverts_discarded".into(), c.adverts_discarded);
                    counters.insert("adverts_sent".into(), c.adverts_sent);
                    counters.insert("priority_zero_received".into(), c.priority_zero_received);
                    counters.insert("priority_zero_sent".into(), c.priority_zero_sent);
                    counters.insert("became_master".into(), c.became_master);
                    counters.insert("interval_mismatch".into(), c.interval_mismatch);
                    counters.insert("address_list_mismatch".into(), c.address_list_mismatch);
                    counters.insert("version_mismatch".into(), c.version_mismatch);
                }
                counters.insert("rx_dropped".into(), i.rx_dropped);
                counters.insert("tx_errors".into(), i.tx_errors);
                InstanceStatus {
                    name: i.cfg.name.clone(),
                    interface: i.cfg.interface.clone(),
                    vrid: i.cfg.vrid,
                    family: if i.family == Family::V4 {
                        "ipv4".into()
                    } else {
                        "ipv6".into()
                    },
                    version: version_u8(&i.cfg),
                    state: i.state().to_string(),
                    fault: i.fault.clone(),
                    priority: if i.cfg.address_owner {
                        255
                    } else {
                        i.cfg.priority
                    },
                    effective_priority: r.map_or(0, |r| r.effective_priority()),
                    primary_address: i.primary.map(|a| a.to_string()),
                    master_address: r.and_then(|r| r.master_address()).map(|a| a.to_string()),
                    advert_interval_ms: i.cfg.advert_interval.0.as_millis() as u64,
                    master_down_interval_us: r
                        .map_or(0, |r| r.master_down_interval().as_micros() as u64),
                    last_transition: r.and_then(|r| r.last_transition()).map(|t| {
                        TransitionStatus {
                            from: t.from.to_string(),
                            to: t.to.to_string(),
                            reason: format!("{:?}", t.reason),
                            at_ms: t.at.as_micros() / 1000,
                        }
                    }),
                    virtual_addresses: instance::installed(&i.cfg)
                        .map(ToString::to_string)
                        .collect(),
                    counters,
                }
            })
            .collect();
        let interfaces = self
            .ifaces
            .values()
            .map(|f| InterfaceStatus {
                name: f.name.clone(),
                ifindex: f.index,
                xdp_mode: f
                    .dp
                    .attached_mode()
                    .map_or_else(|| "detached".into(), |m| format!("{m:?}")),
                counters: f
                    .dp
                    .counters()
                    .map(|c| {
                        c.nonzero()
                            .into_iter()
                            .map(|(k, v)| (k.name().to_string(), v))
                            .collect()
                    })
                    .unwrap_or_default(),
                tx_frames: f.txq.sent,
                tx_syscalls: f.txq.syscalls,
            })
            .collect();
        Status {
            router_id: self.cfg.global.router_id.clone(),
            uptime_ms,
            instances,
            interfaces,
            lvs: self.lvs.as_ref().map(|l| l.status(&|n| self.is_master(n))),
        }
    }
}

fn notify_state(s: State) -> NotifyState {
    match s {
        State::Master => NotifyState::Master,
        State::Backup => NotifyState::Backup,
        State::Fault => NotifyState::Fault,
        State::Initialize => NotifyState::Stop,
    }
}

fn version_u8(cfg: &config::Instance) -> u8 {
    match cfg.version {
        config::Version::V2 => 2,
        config::Version::V3 => 3,
    }
}

/// Wraps an encoded VRRP message into the Ethernet frame sent from the virtual MAC to the VRRP
/// group with TOS 0xc0 and TTL 255 (RFC 5798 §5.1.1.3, §7.3, §8.1.2).
fn build_advert_frame(inst: &InstanceRt, id: u16, vrrp: &[u8]) -> Result<Vec<u8>> {
    match inst.primary {
        Some(IpAddr::V4(src)) => {
            let group = std::net::Ipv4Addr::from(vrrp_common::proto::VRRP_GROUP_V4);
            let h = frame::AdvertV4 {
                src_mac: inst.vmac,
                dst_mac: frame::multicast_mac_v4(group),
                src,
                dst: group,
                id,
            };
            Ok(frame::advert_v4(&h, vrrp)?)
        }
        Some(IpAddr::V6(src)) => {
            let group = std::net::Ipv6Addr::from(vrrp_common::proto::VRRP_GROUP_V6);
            let h = frame::AdvertV6 {
                src_mac: inst.vmac,
                dst_mac: frame::multicast_mac_v6(group),
                src,
                dst: group,
            };
            Ok(frame::advert_v6(&h, vrrp)?)
        }
        None => Err(anyhow!("no primary address")),
    }
}

/// Every address of interface `name` (getifaddrs), IPv4 and IPv6, in kernel order.
fn interface_addresses(name: &str) -> Result<Vec<IpAddr>> {
    let mut out = Vec::new();
    for ifa in nix::ifaddrs::getifaddrs().context("getifaddrs")? {
        if ifa.interface_name != name {
            continue;
        }
        let Some(addr) = ifa.address else { continue };
        if let Some(a) = addr.as_sockaddr_in() {
            out.push(IpAddr::V4(a.ip()));
        } else if let Some(a) = addr.as_sockaddr_in6() {
            out.push(IpAddr::V6(a.ip()));
        }
    }
    Ok(out)
}

async fn recv_health(lvs: Option<&mut Lvs>) -> Option<HealthChange> {
    match lvs {
        Some(l) => l.recv().await,
        None => std::future::pending().await,
    }
}

async fn recv_opt(rx: Option<&mut AdvertReceiver>) -> std::result::Result<RxAdvert, RxError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn next_link(
    s: &mut Option<futures_util::stream::BoxStream<'static, LinkEvent>>,
) -> Option<LinkEvent> {
    match s {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}
