//! One configured instance at run time: its election core, the addresses it advertises and
//! installs, its announcement schedule (keepalived's garp_* settings) and the advert it sends.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use anyhow::{Result, anyhow};
use vrrp_common::packet::{
    self, Addrs, AdvertFields, Auth, ChecksumStyle, EncodeCtx, Endpoints, VersionFields,
};
use vrrp_common::proto::{self, VRRP_GROUP_V4, VRRP_GROUP_V6};
use vrrp_core::{Centis, Family, RouterConfig, State, Version, VirtualRouter, Vrid};

use crate::config;

/// Core family of a configured instance.
pub fn family_of(cfg: &config::Instance) -> Family {
    match cfg.family {
        config::Family::Ipv4 => Family::V4,
        config::Family::Ipv6 => Family::V6,
    }
}

/// Wire-level family (vrrp-common) of a core family.
pub fn proto_family(f: Family) -> proto::Family {
    match f {
        Family::V4 => proto::Family::V4,
        Family::V6 => proto::Family::V6,
    }
}

/// The interval in centiseconds (config validated it: v2 whole seconds, v3 10 ms steps).
pub fn interval_centis(d: Duration) -> Result<Centis> {
    let cs = d.as_millis() / 10;
    u16::try_from(cs)
        .ok()
        .and_then(Centis::new)
        .ok_or_else(|| anyhow!("advert interval {d:?} out of range"))
}

/// Builds the election core's configuration (RFC 5798 §6.1 parameters) for `cfg`, with
/// `primary` as this router's primary address.
pub fn router_config(cfg: &config::Instance, primary: IpAddr) -> Result<RouterConfig> {
    let vrid = Vrid::new(cfg.vrid).ok_or_else(|| anyhow!("VRID 0"))?;
    let version = match cfg.version {
        config::Version::V2 => Version::V2,
        config::Version::V3 => Version::V3,
    };
    let mut rc = RouterConfig::new(vrid, version, primary, advertised(cfg));
    rc.priority = if cfg.address_owner { 255 } else { cfg.priority };
    rc.advert_interval = interval_centis(cfg.advert_interval.0)?;
    rc.preempt = cfg.preempt;
    rc.preempt_delay = cfg.preempt_delay.0;
    rc.accept_mode = cfg.accept_mode;
    rc.reassert_on_lower_priority = !cfg.lower_prio_no_advert;
    rc.advert_before_yielding = cfg.higher_prio_send_advert;
    Ok(rc)
}

/// The addresses carried in adverts: `virtual_addresses`, not `excluded_addresses`
/// (keepalived `virtual_ipaddress_excluded`).
pub fn advertised(cfg: &config::Instance) -> Vec<IpAddr> {
    cfg.virtual_addresses.iter().map(|v| v.address).collect()
}

/// Every address the Master installs: advertised and excluded ones.
pub fn installed(cfg: &config::Instance) -> impl Iterator<Item = &config::VirtualAddress> {
    cfg.virtual_addresses
        .iter()
        .chain(cfg.excluded_addresses.iter())
}

/// When gratuitous ARP / unsolicited NA rounds are due for one Master term (keepalived
/// `garp_master_delay`, `garp_master_repeat`, `garp_interval`, `garp_master_refresh`,
/// `garp_master_refresh_repeat`).
#[derive(Debug, Default)]
pub struct AnnounceSchedule {
    due: VecDeque<vrrp_core::Instant>,
    refresh_at: Option<vrrp_core::Instant>,
}

impl AnnounceSchedule {
    /// Becoming Master at `now` (RFC 5798 §6.4.1 (2)/(3)): `repeat` rounds now, `interval`
    /// apart, then `repeat` more after `delay`; then a refresh every `refresh`.
    pub fn start(&mut self, now: vrrp_core::Instant, g: &config::Garp) {
        self.due.clear();
        let burst = |at: vrrp_core::Instant, due: &mut VecDeque<_>| {
            for i in 0..g.repeat.max(1) {
                due.push_back(at + g.interval.0 * i);
            }
        };
        burst(now, &mut self.due);
        if !g.delay.0.is_zero() {
            burst(now + g.delay.0, &mut self.due);
        }
        self.refresh_at = (!g.refresh.0.is_zero()).then(|| now + g.refresh.0);
    }

    /// Leaving Master: nothing more to announce.
    pub fn stop(&mut self) {
        self.due.clear();
        self.refresh_at = None;
    }

    pub fn next(&self) -> Option<vrrp_core::Instant> {
        match (self.due.front().copied(), self.refresh_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// How many rounds are due at `now` (they are consumed).
    pub fn take_due(&mut self, now: vrrp_core::Instant, g: &config::Garp) -> u32 {
        let mut n = 0;
        while self.due.front().is_some_and(|t| *t <= now) {
            self.due.pop_front();
            n += 1;
        }
        if let Some(r) = self.refresh_at
            && r <= now
        {
            for i in 1..g.refresh_repeat.max(1) {
                self.due.push_back(now + g.interval.0 * i);
            }
            n += 1;
            self.refresh_at = Some(now + g.refresh.0);
        }
        n
    }
}

/// One instance at run time.
pub struct InstanceRt {
    pub cfg: config::Instance,
    pub family: Family,
    /// None while the instance cannot run (interface missing, no primary address).
    pub router: Option<VirtualRouter>,
    /// Why `router` is None.
    pub fault: Option<String>,
    pub ifindex: Option<u32>,
    pub primary: Option<IpAddr>,
    pub vmac: [u8; 6],
    pub announce: AnnounceSchedule,
    /// Advertised addresses, in wire form.
    adv_v4: Vec<[u8; 4]>,
    adv_v6: Vec<[u8; 16]>,
    /// Tracking: the latest verdict applied to the core.
    pub track_delta: i32,
    pub track_fault: bool,
    /// Agent-side counters (the core counts protocol events).
    pub rx_dropped: u64,
    pub tx_errors: u64,
    /// The last state announced to notify scripts.
    pub notified: Option<State>,
    /// Advert absorption: the routine advert and the XDP record (see `absorb`).
    pub absorb: super::absorb::Absorb,
}

impl InstanceRt {
    pub fn new(cfg: config::Instance) -> InstanceRt {
        let family = family_of(&cfg);
        let vmac = proto::virtual_mac(proto_family(family), cfg.vrid);
        let mut adv_v4 = Vec::new();
        let mut adv_v6 = Vec::new();
        for a in advertised(&cfg) {
            match a {
                IpAddr::V4(a) => adv_v4.push(a.octets()),
                IpAddr::V6(a) => adv_v6.push(a.octets()),
            }
        }
        InstanceRt {
            cfg,
            family,
            router: None,
            fault: None,
            ifindex: None,
            primary: None,
            vmac,
            announce: AnnounceSchedule::default(),
            adv_v4,
            adv_v6,
            track_delta: 0,
            track_fault: false,
            rx_dropped: 0,
            tx_errors: 0,
            notified: None,
            absorb: Default::default(),
        }
    }

    pub fn state(&self) -> State {
        self.router
            .as_ref()
            .map_or(State::Fault, VirtualRouter::state)
    }

    /// The v2 authentication as on the wire: a simple-text password is zero-padded to 8 bytes
    /// (RFC 3768 §5.3.10).
    pub fn auth(&self) -> Auth {
        match &self.cfg.authentication {
            config::Authentication::None => Auth::None,
            config::Authentication::Pass { password } => {
                let mut pw = [0u8; 8];
                let b = password.as_bytes();
                let n = b.len().min(8);
                pw[..n].copy_from_slice(&b[..n]);
                Auth::SimpleText(pw)
            }
        }
    }

    /// Encodes one advert with `priority` into `out` (RFC 5798 §5.1/§5.2, RFC 3768 §5) and
    /// returns its length. Destination: the VRRP group (multicast).
    pub fn encode_advert(
        &self,
        priority: u8,
        dst: Option<IpAddr>,
        out: &mut [u8],
    ) -> Result<usize> {
        let primary = self.primary.ok_or_else(|| anyhow!("no primary address"))?;
        let interval = interval_centis(self.cfg.advert_interval.0)?;
        let version = match self.cfg.version {
            config::Version::V2 => VersionFields::V2 {
                auth: self.auth(),
                adver_int_s: interval
                    .whole_secs()
                    .ok_or_else(|| anyhow!("v2 interval not whole seconds"))?,
            },
            config::Version::V3 => VersionFields::V3 {
                max_adver_int_cs: interval.get(),
            },
        };
        let fields = AdvertFields {
            vrid: self.cfg.vrid,
            priority,
            version,
        };
        let (endpoints, addrs) = match (primary, dst) {
            (IpAddr::V4(s), None) => (
                Endpoints::V4 {
                    src: s.octets(),
                    dst: VRRP_GROUP_V4,
                },
                Addrs::V4(&self.adv_v4),
            ),
            (IpAddr::V4(s), Some(IpAddr::V4(d))) => (
                Endpoints::V4 {
                    src: s.octets(),
                    dst: d.octets(),
                },
                Addrs::V4(&self.adv_v4),
            ),
            (IpAddr::V6(s), None) => (
                Endpoints::V6 {
                    src: s.octets(),
                    dst: VRRP_GROUP_V6,
                },
                Addrs::V6(&self.adv_v6),
            ),
            (IpAddr::V6(s), Some(IpAddr::V6(d))) => (
                Endpoints::V6 {
                    src: s.octets(),
                    dst: d.octets(),
                },
                Addrs::V6(&self.adv_v6),
            ),
            _ => return Err(anyhow!("peer family differs from the instance's")),
        };
        let checksum = if self.cfg.v3_checksum_as_v2 {
            ChecksumStyle::V2Style
        } else {
            ChecksumStyle::Rfc
        };
        packet::encode(
            &fields,
            addrs,
            EncodeCtx {
                endpoints,
                checksum,
            },
            out,
        )
        .map_err(|e| anyhow!("encode advert: {e:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigDuration;

    fn garp(
        delay_ms: u64,
        repeat: u32,
        interval_ms: u64,
        refresh_ms: u64,
        refresh_repeat: u32,
    ) -> config::Garp {
        config::Garp {
            delay: ConfigDuration(Duration::from_millis(delay_ms)),
            repeat,
            interval: ConfigDuration(Duration::from_millis(interval_ms)),
            refresh: ConfigDuration(Duration::from_millis(refresh_ms)),
            refresh_repeat,
        }
    }

    fn t(ms: u64) -> vrrp_core::Instant {
        vrrp_core::Instant::from_micros(ms * 1000)
    }

    #[test]
    fn announces_a_burst_now_and_another_after_the_delay() {
        let g = garp(5000, 3, 10, 0, 1);
        let mut s = AnnounceSchedule::default();
        s.start(t(100), &g);
        assert_eq!(s.next(), Some(t(100)));
        assert_eq!(s.take_due(t(100), &g), 1);
        assert_eq!(s.next(), Some(t(110)));
        assert_eq!(s.take_due(t(125), &g), 2);
        assert_eq!(s.next(), Some(t(5100)));
        assert_eq!(s.take_due(t(6000), &g), 3);
        assert_eq!(s.next(), None);
    }

    #[test]
    fn refresh_repeats_periodically_until_stopped() {
        let g = garp(0, 1, 0, 1000, 1);
        let mut s = AnnounceSchedule::default();
        s.start(t(0), &g);
        assert_eq!(s.take_due(t(0), &g), 1);
        assert_eq!(s.next(), Some(t(1000)));
        assert_eq!(s.take_due(t(1000), &g), 1);
        assert_eq!(s.next(), Some(t(2000)));
        s.stop();
        assert_eq!(s.next(), None);
    }
}
