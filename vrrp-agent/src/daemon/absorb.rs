//! Advert absorption, the agent's side (issue 7; ARCHITECTURE.md "Advert absorption"): which
//! `MASTERS` record each instance should have in the XDP map, and, before a Master_Down_Timer
//! fires, feeding the core the routine adverts XDP absorbed so it re-arms the timer from the true
//! last-seen time (RFC 5798 §6.4.2: "Reset the Master_Down_Timer to Master_Down_Interval" on each
//! advert). The decisions are pure functions ([`desired_record`], [`replay_at`]); the rest is
//! glue the event loop calls at three places: after the core accepts an advert
//! ([`on_advert`]), after every batch of actions ([`sync`]) and before firing timers
//! ([`refresh`]).

use std::net::IpAddr;

use vrrp_common::maps::MasterRecord;
use vrrp_core::{Input, Instant, ReceivedAdvert, State};

use super::clock::Clock;
use super::instance::{InstanceRt, proto_family};
use crate::xdp::DataPlane;

/// What the agent last wrote to the instance's `MASTERS` slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Installed {
    /// Nothing written yet by this instance: a record of a previous configuration (reload) may
    /// still be there, so the first [`sync`] always writes.
    #[default]
    Unknown,
    Off,
    On(MasterRecord),
}

/// The last advert the core accepted from the Master it follows, as XDP will recognise it.
#[derive(Clone, Debug)]
struct Routine {
    advert: ReceivedAdvert,
    record: MasterRecord,
    /// When the core last processed this advert (received, or replayed from `last_seen_ns`).
    at: Instant,
}

/// Per-instance absorption state (lives in [`InstanceRt`]).
#[derive(Clone, Debug, Default)]
pub struct Absorb {
    installed: Installed,
    routine: Option<Routine>,
    /// Core inputs fed from `last_seen_ns` (for status/debugging).
    pub replays: u64,
}

/// The wire form of an IP source as [`MasterRecord::src`] holds it.
pub fn src_bytes(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(a) => {
            let mut s = [0u8; 16];
            s[..4].copy_from_slice(&a.octets());
            s
        }
        IpAddr::V6(a) => a.octets(),
    }
}

/// The record the map should hold: the routine advert's, while absorption is enabled, the core
/// is Backup and still follows that advert's sender (RFC 5798 §6.4.2 keeps `master_address`
/// only in Backup); `None` (absorption off for the router) in every other case.
pub fn desired_record(
    enabled: bool,
    state: State,
    master: Option<IpAddr>,
    routine: Option<(IpAddr, MasterRecord)>,
) -> Option<MasterRecord> {
    let (src, rec) = routine?;
    (enabled && state == State::Backup && master == Some(src)).then_some(rec)
}

/// When to feed the core the routine advert again: XDP saw it at `last_seen` (None: never, or
/// the slot is not our record), the core last processed it at `processed`. Only a sighting newer
/// than what the core knows counts; a sighting stamped after `now` (the map was read after the
/// clock) is taken as `now`, so the core's time never runs ahead of the loop's.
pub fn replay_at(last_seen: Option<Instant>, processed: Instant, now: Instant) -> Option<Instant> {
    let seen = last_seen?;
    (seen > processed).then_some(seen.min(now))
}

/// After the core handled `advert` (IP payload `payload`) at `now`: if the core is Backup and
/// follows its sender, remember it as the routine advert (the record is written by [`sync`]).
pub fn on_advert(inst: &mut InstanceRt, advert: &ReceivedAdvert, payload: &[u8], now: Instant) {
    let Some(r) = inst.router.as_ref() else {
        return;
    };
    if r.state() != State::Backup || r.master_address() != Some(advert.src) {
        return;
    }
    let family = proto_family(inst.family);
    inst.absorb.routine =
        MasterRecord::for_advert(family, src_bytes(advert.src), payload).map(|record| Routine {
            advert: advert.clone(),
            record,
            at: now,
        });
}

/// Brings the instance's `MASTERS` slot in line with [`desired_record`]; writes only on change
/// (a rewrite zeroes `last_seen_ns`).
pub fn sync(inst: &mut InstanceRt, dp: Option<&mut DataPlane>, enabled: bool) {
    let (state, master) = match inst.router.as_ref() {
        Some(r) => (r.state(), r.master_address()),
        None => (State::Initialize, None),
    };
    let want = desired_record(
        enabled,
        state,
        master,
        inst.absorb
            .routine
            .as_ref()
            .map(|r| (r.advert.src, r.record)),
    );
    if want.is_none() {
        // The core's view moved on (other state, other Master, switch off): forget the advert.
        inst.absorb.routine = None;
    }
    let next = want.map_or(Installed::Off, Installed::On);
    if next == inst.absorb.installed {
        return;
    }
    let Some(dp) = dp else {
        return;
    };
    let rec = want.unwrap_or_default();
    match dp.set_master_record(proto_family(inst.family), inst.cfg.vrid, &rec) {
        Ok(()) => inst.absorb.installed = next,
        Err(e) => {
            tracing::error!(instance = %inst.cfg.name, error = %e, "advert absorption record")
        }
    }
}

/// Before the core's timers are fired at `now`: if XDP absorbed a routine advert after the
/// core last processed one, feed it to the core at its arrival time (re-arming the
/// Master_Down_Timer from there). Returns whether an input was fed (drain the core's actions).
pub fn refresh(inst: &mut InstanceRt, dp: Option<&DataPlane>, clock: &Clock, now: Instant) -> bool {
    let (Installed::On(want), Some(routine), Some(dp)) =
        (inst.absorb.installed, inst.absorb.routine.as_mut(), dp)
    else {
        return false;
    };
    let rec = match dp.master_record(proto_family(inst.family), inst.cfg.vrid) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(instance = %inst.cfg.name, error = %e, "advert absorption record");
            return false;
        }
    };
    // Only our own record's sightings count (the agent's fields are as written).
    let ours = MasterRecord {
        last_seen_ns: 0,
        absorbed: 0,
        ..rec
    } == want;
    let seen = (ours && rec.last_seen_ns != 0).then(|| clock.instant_of_ns(rec.last_seen_ns));
    let Some(at) = replay_at(seen, routine.at, now) else {
        return false;
    };
    routine.at = at;
    // `at` is never after `now` nor before the core's last advert; another input (a tracking
    // change) may have reached the core in between with a later time. For an advert the core
    // only uses `at` to arm Master_Down_Timer and compare with the preempt_delay end, both
    // meant for the advert's arrival time, so the earlier time is the right one.
    let Some(r) = inst.router.as_mut() else {
        return false;
    };
    r.handle_input(at, Input::Advert(routine.advert.clone()));
    inst.absorb.replays += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn rec() -> MasterRecord {
        MasterRecord {
            src: src_bytes(A),
            priority: 100,
            version: 3,
            interval: 100,
            digest: 1,
            enabled: 1,
            ..MasterRecord::default()
        }
    }

    #[test]
    fn replay_only_for_a_sighting_newer_than_the_cores() {
        assert_eq!(replay_at(None, t(100), t(500)), None);
        assert_eq!(replay_at(Some(t(100)), t(100), t(500)), None);
        assert_eq!(replay_at(Some(t(90)), t(100), t(500)), None);
        assert_eq!(replay_at(Some(t(300)), t(100), t(500)), Some(t(300)));
        // Stamped after the loop read its clock: never ahead of `now`.
        assert_eq!(replay_at(Some(t(600)), t(100), t(500)), Some(t(500)));
    }

    #[test]
    fn record_only_while_backup_following_that_sender() {
        let r = Some((A, rec()));
        assert_eq!(desired_record(true, State::Backup, Some(A), r), Some(rec()));
        assert_eq!(desired_record(false, State::Backup, Some(A), r), None);
        assert_eq!(desired_record(true, State::Master, Some(A), r), None);
        assert_eq!(desired_record(true, State::Fault, Some(A), r), None);
        assert_eq!(desired_record(true, State::Initialize, Some(A), r), None);
        // The core now follows another Master, or none (priority 0 received).
        assert_eq!(desired_record(true, State::Backup, Some(B), r), None);
        assert_eq!(desired_record(true, State::Backup, None, r), None);
        assert_eq!(desired_record(true, State::Backup, Some(A), None), None);
    }

    /// What the replay relies on in the core: an advert fed at `last_seen` re-arms the
    /// Master_Down_Timer to `last_seen + Master_Down_Interval` (RFC 5798 §6.4.2), and a replay
    /// older than the timer does not save the Backup.
    #[test]
    fn replaying_the_routine_advert_rearms_master_down_from_last_seen() {
        use vrrp_core::{Centis, RouterConfig, Version, VirtualRouter, Vrid};
        let mut cfg = RouterConfig::new(
            Vrid::new(21).unwrap(),
            Version::V3,
            B,
            vec!["192.0.2.100".parse().unwrap()],
        );
        cfg.advert_interval = Centis::new(10).unwrap();
        let mut r = VirtualRouter::new(cfg).unwrap();
        r.handle_input(t(0), Input::Startup);
        assert_eq!(r.state(), State::Backup);
        let ad = ReceivedAdvert {
            src: A,
            version: Version::V3,
            priority: 150,
            max_adver_int: Centis::new(10).unwrap(),
            addresses: vec!["192.0.2.100".parse().unwrap()],
        };
        r.handle_input(t(1_000), Input::Advert(ad.clone()));
        let mdi = r.master_down_interval();
        let deadline = r.poll_timeout().unwrap();
        assert_eq!(deadline, t(1_000) + mdi);
        assert_eq!(
            desired_record(true, r.state(), r.master_address(), Some((A, rec()))),
            Some(rec())
        );
        // XDP saw the Master 250 ms later; the loop wakes at the old deadline and replays.
        let seen = t(251_000);
        let at = replay_at(Some(seen), t(1_000), deadline).unwrap();
        assert_eq!(at, seen.min(deadline));
        r.handle_input(at, Input::Advert(ad));
        r.handle_timeout(deadline);
        assert_eq!(r.state(), State::Backup);
        assert_eq!(r.poll_timeout(), Some(at + mdi));
        // No newer sighting: the timer fires, the Backup takes over.
        assert_eq!(replay_at(Some(seen), at, at + mdi), None);
        r.handle_timeout(at + mdi);
        assert!(matches!(r.state(), State::Master));
    }

    #[test]
    fn src_bytes_pads_ipv4() {
        assert_eq!(&src_bytes(A)[..4], &[192, 0, 2, 1]);
        assert_eq!(&src_bytes(A)[4..], &[0u8; 12]);
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(src_bytes(v6)[15], 1);
    }
}
