//! Loading, attaching and driving the XDP data plane (crate `vrrp-ebpf`, embedded as
//! [`crate::EBPF_OBJECT`]) on one interface: VIPs, roles, the dead-man heartbeat, counters.
//!
//! The program only reads maps, except the `last_seen_ns`/`absorbed` fields of `MASTERS`
//! records (advert absorption); this module is the only other writer. Map names and layouts come from
//! `vrrp_common::maps` (the contract). Also offers [`DataPlane::test_run`] (BPF_PROG_TEST_RUN)
//! on a loaded but unattached program, for tests and the benchmark.

mod counters;
mod netlink;

use std::{
    net::IpAddr,
    os::fd::{AsFd as _, AsRawFd as _},
    time::Duration,
};

use aya::{
    Ebpf,
    maps::{Array, HashMap, MapData, PerCpuArray},
    programs::{TestRun, TestRunOptions, Xdp, XdpMode},
};
use vrrp_common::{
    maps::{
        Heartbeat, MAP_COUNTERS, MAP_HEARTBEAT, MAP_MASTERS, MAP_ROUTERS, MAP_SETTINGS,
        MAP_VIPS_V4, MAP_VIPS_V6, MasterRecord, Role, RouterState, SETTINGS_FLAG_LOG, Settings,
        Vip4Key, Vip6Key, VipValue, router_index,
    },
    proto::Family,
    stats::Counter,
};

pub use counters::Counters;

/// Name of the data-plane program in the object.
pub const PROGRAM: &str = "vrrp_xdp";
/// Name of the empty baseline program (always XDP_PASS) in the object.
pub const PROGRAM_PASS: &str = "xdp_pass";

/// A data-plane operation that failed, with the interface and operation it concerned.
#[derive(Debug, thiserror::Error)]
#[error("XDP data plane on {iface}: {op}: {source}")]
pub struct Error {
    /// Interface name, or `-` when not attached.
    pub iface: String,
    /// What was being done.
    pub op: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

/// Result of this module.
pub type Result<T> = std::result::Result<T, Error>;

/// How to attach the program.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum AttachMode {
    /// Driver (native) mode when the driver supports it, else generic (skb) mode.
    #[default]
    Auto,
    /// Native XDP only; fail if the driver lacks it.
    Driver,
    /// Generic XDP only (the kernel runs the program on the skb).
    Skb,
}

/// Which program of the object to run with [`DataPlane::test_run`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prog {
    /// The data plane.
    Vrrp,
    /// The empty baseline.
    Pass,
}

impl Prog {
    /// The program's name in the object.
    pub const fn name(self) -> &'static str {
        match self {
            Prog::Vrrp => PROGRAM,
            Prog::Pass => PROGRAM_PASS,
        }
    }
}

/// Outcome of one BPF_PROG_TEST_RUN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestRunOutput {
    /// The XDP action returned (`XDP_DROP` 1, `XDP_PASS` 2, `XDP_TX` 3, ...).
    pub verdict: u32,
    /// The frame as the program left it.
    pub frame: Vec<u8>,
    /// Average run time per repetition as the kernel measured it.
    pub duration: Duration,
}

/// The XDP data plane of one interface.
pub struct DataPlane {
    ebpf: Ebpf,
    iface: Option<String>,
    /// Netlink socket (in the attach namespace), ifindex and XDP mode flags, if attached.
    link: Option<(netlink::Socket, u32, u32)>,
    mode: Option<XdpMode>,
    attached: Prog,
}

impl std::fmt::Debug for DataPlane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPlane")
            .field("iface", &self.iface)
            .field("mode", &self.mode)
            .finish()
    }
}

fn err<E>(iface: &Option<String>, op: impl Into<String>) -> impl FnOnce(E) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    let iface = iface.clone().unwrap_or_else(|| "-".into());
    let op = op.into();
    move |e| Error {
        iface,
        op,
        source: Box::new(e),
    }
}

fn msg(iface: &Option<String>, op: impl Into<String>, m: &str) -> Error {
    Error {
        iface: iface.clone().unwrap_or_else(|| "-".into()),
        op: op.into(),
        source: m.to_string().into(),
    }
}

/// CLOCK_MONOTONIC_COARSE in nanoseconds: the clock of `bpf_ktime_get_coarse_ns()`, which the
/// data plane compares the heartbeat against.
pub fn monotonic_ns() -> u64 {
    // clock_gettime cannot fail on Linux with a valid clock id.
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC_COARSE) {
        Ok(ts) => ts.tv_sec() as u64 * 1_000_000_000 + ts.tv_nsec() as u64,
        Err(_) => 0,
    }
}

impl DataPlane {
    /// Loads the object into the kernel, loads both programs, and attaches `vrrp_xdp` to `iface`.
    /// Settings start zeroed, no router configured, heartbeat never written (so everything behaves
    /// as Backup until the agent refreshes it).
    pub fn load(iface: &str, mode: AttachMode) -> Result<Self> {
        let mut dp = Self::load_unattached()?;
        dp.attach(iface, mode)?;
        Ok(dp)
    }

    /// Loads the object and both programs without attaching: for [`DataPlane::test_run`].
    pub fn load_unattached() -> Result<Self> {
        let none = None;
        let mut ebpf = Ebpf::load(crate::EBPF_OBJECT).map_err(err(&none, "load eBPF object"))?;
        for name in [PROGRAM, PROGRAM_PASS] {
            let prog: &mut Xdp = ebpf
                .program_mut(name)
                .ok_or_else(|| msg(&none, format!("find program {name}"), "not in the object"))?
                .try_into()
                .map_err(err(&none, format!("program {name} as XDP")))?;
            prog.load()
                .map_err(err(&none, format!("load program {name} (verifier)")))?;
        }
        Ok(Self {
            ebpf,
            iface: None,
            link: None,
            mode: None,
            attached: Prog::Vrrp,
        })
    }

    fn prog_mut(&mut self, name: &str) -> Result<&mut Xdp> {
        let iface = self.iface.clone();
        self.ebpf
            .program_mut(name)
            .ok_or_else(|| msg(&iface, format!("find program {name}"), "not in the object"))?
            .try_into()
            .map_err(err(&iface, format!("program {name} as XDP")))
    }

    fn prog(&self, name: &str) -> Result<&Xdp> {
        self.ebpf
            .program(name)
            .ok_or_else(|| {
                msg(
                    &self.iface,
                    format!("find program {name}"),
                    "not in the object",
                )
            })?
            .try_into()
            .map_err(err(&self.iface, format!("program {name} as XDP")))
    }

    /// Attaches `vrrp_xdp` to `iface` (in the calling thread's network namespace). With
    /// [`AttachMode::Auto`], driver mode is tried first, then generic mode.
    pub fn attach(&mut self, iface: &str, mode: AttachMode) -> Result<()> {
        self.attach_prog(Prog::Vrrp, iface, mode)
    }

    /// Attaches `prog` instead: [`Prog::Pass`] gives a veth peer the XDP program it needs to
    /// receive XDP_TX frames, and serves as the benchmark's baseline.
    ///
    /// The attachment is made with rtnetlink (IFLA_XDP), not a bpf_link, so it outlives this
    /// process: if the agent dies, the program stays and the stale heartbeat turns every router
    /// into Backup; a restarted agent's attach replaces the orphan atomically (same mode).
    pub fn attach_prog(&mut self, prog: Prog, iface: &str, mode: AttachMode) -> Result<()> {
        if self.link.is_some() {
            return Err(msg(&self.iface, "attach", "already attached"));
        }
        let name = Some(iface.to_string());
        let ifindex = netlink::ifindex(iface).map_err(err(&name, "interface index"))?;
        let pname = prog.name();
        let fd = {
            let p = self.prog_mut(pname)?;
            let fd = p.fd().map_err(err(&name, format!("fd of {pname}")))?;
            fd.as_fd().as_raw_fd()
        };
        let tries: &[(XdpMode, u32)] = match mode {
            AttachMode::Auto => &[
                (XdpMode::Driver, netlink::XDP_FLAGS_DRV_MODE),
                (XdpMode::Skb, netlink::XDP_FLAGS_SKB_MODE),
            ],
            AttachMode::Driver => &[(XdpMode::Driver, netlink::XDP_FLAGS_DRV_MODE)],
            AttachMode::Skb => &[(XdpMode::Skb, netlink::XDP_FLAGS_SKB_MODE)],
        };
        let nl = netlink::Socket::open().map_err(err(&name, "open rtnetlink socket"))?;
        let mut last = None;
        for (m, flags) in tries {
            match nl.set_xdp(ifindex, fd, *flags, None) {
                Ok(()) => {
                    self.link = Some((nl, ifindex, *flags));
                    self.mode = Some(*m);
                    self.attached = prog;
                    self.iface = name;
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e) => Err(err(&name, format!("attach {pname} ({mode:?}) by netlink"))(
                e,
            )),
            None => Err(msg(&name, "attach", "no mode to try")),
        }
    }

    /// The mode the program is attached in, if attached.
    pub fn attached_mode(&self) -> Option<XdpMode> {
        self.mode
    }

    /// Detaches the program from its interface (no-op if not attached). Only removes it if it is
    /// still this data plane's program (`XDP_FLAGS_REPLACE` with the expected fd), so a newer
    /// agent's program is never removed. Works from any thread: the netlink socket opened at
    /// attach time belongs to the interface's network namespace.
    pub fn detach(&mut self) -> Result<()> {
        if let Some((nl, ifindex, flags)) = self.link.take() {
            let pname = self.attached.name();
            let fd = {
                let p = self.prog_mut(pname)?;
                let fd = p.fd().map_err(err(&None, format!("fd of {pname}")))?;
                fd.as_fd().as_raw_fd()
            };
            self.mode = None;
            match nl.set_xdp(ifindex, -1, flags, Some(fd)) {
                Ok(()) => {}
                // Interface gone (namespace deleted) or another program attached: nothing of ours
                // is left to remove.
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENODEV) | Some(libc::EEXIST)) => {}
                Err(e) => return Err(err(&self.iface, "detach by netlink")(e)),
            }
        }
        Ok(())
    }

    /// Forgets the attachment without detaching: the program stays on the interface after this
    /// data plane is dropped (as after a crash). For a clean agent restart or tests.
    pub fn leave_attached(&mut self) {
        self.link = None;
        self.mode = None;
    }

    /// Kernel id of the program `prog` (as `ip link` shows for an attached program).
    pub fn program_id(&self, prog: Prog) -> Result<u32> {
        let p = self.prog(prog.name())?;
        let info = p.info().map_err(err(&self.iface, "program info"))?;
        Ok(info.id())
    }

    fn array_set<V: aya::Pod>(&mut self, map: &str, index: u32, value: &V) -> Result<()> {
        let iface = self.iface.clone();
        let m = self
            .ebpf
            .map_mut(map)
            .ok_or_else(|| msg(&iface, format!("find map {map}"), "not in the object"))?;
        let mut a: Array<_, V> = Array::try_from(m).map_err(err(&iface, format!("map {map}")))?;
        a.set(index, value, 0)
            .map_err(err(&iface, format!("write {map}[{index}]")))
    }

    /// Writes the interface MAC (target of the virtual-MAC rewrite) and the log switch.
    pub fn set_settings(&mut self, if_mac: [u8; 6], log: bool) -> Result<()> {
        let s = Settings {
            if_mac,
            flags: if log { SETTINGS_FLAG_LOG } else { 0 },
            _pad: 0,
        };
        self.array_set(MAP_SETTINGS, 0, &s)
    }

    /// Writes the data-plane state of virtual router (`family`, `vrid`): its role, the VRRP
    /// version it runs (2 or 3) and `ROUTER_FLAG_*` bits. `Role::Unconfigured` removes it.
    pub fn set_router(
        &mut self,
        family: Family,
        vrid: u8,
        role: Role,
        version: u8,
        flags: u8,
    ) -> Result<()> {
        let r = RouterState {
            role: role as u8,
            version,
            flags,
            _pad: 0,
        };
        self.array_set(MAP_ROUTERS, router_index(family, vrid), &r)
    }

    /// Writes the advert-absorption record of virtual router (`family`, `vrid`) whole
    /// (`MasterRecord::default()` disables absorption for it).
    pub fn set_master_record(
        &mut self,
        family: Family,
        vrid: u8,
        rec: &MasterRecord,
    ) -> Result<()> {
        self.array_set(MAP_MASTERS, router_index(family, vrid), rec)
    }

    /// Reads the advert-absorption record of virtual router (`family`, `vrid`).
    pub fn master_record(&self, family: Family, vrid: u8) -> Result<MasterRecord> {
        let m = self.ebpf.map(MAP_MASTERS).ok_or_else(|| {
            msg(
                &self.iface,
                format!("find map {MAP_MASTERS}"),
                "not in the object",
            )
        })?;
        let a: Array<_, MasterRecord> =
            Array::try_from(m).map_err(err(&self.iface, format!("map {MAP_MASTERS}")))?;
        let index = router_index(family, vrid);
        a.get(&index, 0)
            .map_err(err(&self.iface, format!("read {MAP_MASTERS}[{index}]")))
    }

    /// The VIP hash map `name`, keyed by `K`.
    fn vips<K: aya::Pod>(
        &mut self,
        name: &str,
        op: &str,
    ) -> Result<HashMap<&mut MapData, K, VipValue>> {
        let iface = self.iface.clone();
        let m = self
            .ebpf
            .map_mut(name)
            .ok_or_else(|| msg(&iface, op, "no map"))?;
        HashMap::try_from(m).map_err(err(&iface, op))
    }

    /// Makes `vip` a VIP of virtual router `vrid` (of the address's family).
    pub fn add_vip(&mut self, vip: IpAddr, vrid: u8) -> Result<()> {
        let iface = self.iface.clone();
        let value = VipValue { vrid, _pad: [0; 3] };
        let op = format!("add VIP {vip} (VRID {vrid})");
        match vip {
            IpAddr::V4(a) => {
                self.vips(MAP_VIPS_V4, &op)?
                    .insert(&Vip4Key { addr: a.octets() }, &value, 0)
            }
            IpAddr::V6(a) => {
                self.vips(MAP_VIPS_V6, &op)?
                    .insert(&Vip6Key { addr: a.octets() }, &value, 0)
            }
        }
        .map_err(err(&iface, &op))
    }

    /// Removes `vip`; removing an address that is not a VIP is not an error.
    pub fn remove_vip(&mut self, vip: IpAddr) -> Result<()> {
        let iface = self.iface.clone();
        let op = format!("remove VIP {vip}");
        let r = match vip {
            IpAddr::V4(a) => self
                .vips::<Vip4Key>(MAP_VIPS_V4, &op)?
                .remove(&Vip4Key { addr: a.octets() }),
            IpAddr::V6(a) => self
                .vips::<Vip6Key>(MAP_VIPS_V6, &op)?
                .remove(&Vip6Key { addr: a.octets() }),
        };
        match r {
            Ok(()) | Err(aya::maps::MapError::KeyNotFound) => Ok(()),
            Err(e) => Err(err(&iface, &op)(e)),
        }
    }

    /// Refreshes the dead-man heartbeat: fresh for `bound` from now (CLOCK_MONOTONIC_COARSE). Call it
    /// well within `bound`; if the agent stops calling it, every router behaves as Backup.
    pub fn refresh_heartbeat(&mut self, bound: Duration) -> Result<()> {
        let hb = Heartbeat {
            last_ns: monotonic_ns(),
            bound_ns: u64::try_from(bound.as_nanos()).unwrap_or(u64::MAX),
        };
        self.set_heartbeat(hb)
    }

    /// Writes the heartbeat slot as given (tests use it to make the heartbeat stale).
    pub fn set_heartbeat(&mut self, hb: Heartbeat) -> Result<()> {
        self.array_set(MAP_HEARTBEAT, 0, &hb)
    }

    /// Every counter, summed over CPUs.
    pub fn counters(&self) -> Result<Counters> {
        let m = self
            .ebpf
            .map(MAP_COUNTERS)
            .ok_or_else(|| msg(&self.iface, "read counters", "no map"))?;
        let a: PerCpuArray<_, u64> =
            PerCpuArray::try_from(m).map_err(err(&self.iface, "read counters"))?;
        let mut values = [0u64; Counter::COUNT];
        for (i, v) in values.iter_mut().enumerate() {
            let per_cpu = a
                .get(&(i as u32), 0)
                .map_err(err(&self.iface, "read counters"))?;
            *v = per_cpu.iter().sum();
        }
        Ok(Counters::from_values(values))
    }

    /// Runs `prog` once on `frame` with BPF_PROG_TEST_RUN (the program need not be attached).
    pub fn test_run(&self, prog: Prog, frame: &[u8]) -> Result<TestRunOutput> {
        self.test_run_repeat(prog, frame, 1)
    }

    /// Runs `prog` `repeat` times on `frame`. With `repeat > 1` the kernel feeds the program's
    /// output frame back as the next input; the duration is the average per repetition.
    pub fn test_run_repeat(&self, prog: Prog, frame: &[u8], repeat: u32) -> Result<TestRunOutput> {
        let name = prog.name();
        let p = self.prog(name)?;
        let mut out = vec![0u8; 4096];
        let opts = TestRunOptions {
            data_in: Some(frame),
            data_out: Some(&mut out),
            repeat,
            ..TestRunOptions::default()
        };
        let r = p
            .test_run(opts)
            .map_err(err(&self.iface, format!("test run {name}")))?;
        out.truncate(r.data_size_out as usize);
        Ok(TestRunOutput {
            verdict: r.return_value,
            frame: out,
            duration: r.duration,
        })
    }

    /// The loaded object, for inspection (e.g. the map contract test).
    pub fn ebpf(&self) -> &Ebpf {
        &self.ebpf
    }
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        // Dropping the programs would detach too; do it explicitly so errors are not silent.
        if let Err(e) = self.detach() {
            log::warn!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_object_passes_the_verifier_and_runs_when_root() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            println!("SKIP: loading BPF programs needs root");
            return;
        }
        let dp = match DataPlane::load_unattached() {
            Ok(dp) => dp,
            Err(e) => panic!("{e}: {:?}", std::error::Error::source(&e)),
        };
        // A 60-byte frame of an unknown ethertype passes and counts as PassOther.
        let mut frame = vec![0u8; 60];
        frame[12] = 0x88;
        frame[13] = 0xb5;
        let before = dp.counters().expect("counters");
        let out = dp.test_run(Prog::Vrrp, &frame).expect("test run");
        assert_eq!(out.verdict, 2);
        assert_eq!(out.frame, frame);
        let d = dp.counters().expect("counters").delta(&before);
        assert_eq!(d.nonzero(), vec![(Counter::PassOther, 1)]);
    }
}
