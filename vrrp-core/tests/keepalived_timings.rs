//! Reproduces the keepalived 2.2.7 takeover times measured in shared/interop.md on the simulated LAN.
//!
//! Measured there (last advert of the old master → first advert of the new): 3.610 s on a hard
//! failure and 0.610 s after a priority-0 advert at 1 s adverts with a priority-100 backup;
//! 0.361 s / 0.061 s at 0.1 s; 3.42 s for a higher-priority (150) router preempting.
//! RFC 5798 §6.1 gives 3.609375 s / 0.609375 s / 0.3609375 s / 0.0609375 s; our microsecond
//! arithmetic floors the half microsecond at 0.1 s (timing.rs).

mod common;

use std::time::Duration;

use common::sim::{Event, Sim};
use common::{at, cfg, cs};
use vrrp_core::{Centis, Instant, Reason, State, Version};

/// Two routers, priorities 150 (node 0, 192.0.2.11) and 100 (node 1, 192.0.2.13), started at 0.
fn pair(version: Version, interval: Centis, delay: Duration) -> Sim {
    let mut a = cfg(version, 150, 11);
    let mut b = cfg(version, 100, 13);
    a.advert_interval = interval;
    b.advert_interval = interval;
    let mut sim = Sim::new(vec![a, b], delay, 7);
    sim.at(Instant::ZERO, Event::Start(0));
    sim.at(Instant::ZERO, Event::Start(1));
    sim
}

/// (last advert of node 0, first advert of node 1 after it).
fn handover(sim: &Sim) -> (Instant, Instant) {
    let last_old = sim
        .sent_by(0)
        .last()
        .map(|x| x.0)
        .expect("node 0 advertised");
    let first_new = sim
        .sent_by(1)
        .first()
        .map(|x| x.0)
        .expect("node 1 advertised");
    (last_old, first_new)
}

// RFC 5798 §6.4.2 (Master_Down_Timer fires) — keepalived "hard failure": 3.610 s measured.
#[test]
fn hard_failure_at_one_second_takes_over_3_609375_s_after_last_advert() {
    let mut sim = pair(Version::V3, cs(100), Duration::ZERO);
    sim.at(at(10_000_000), Event::LinkDown(0));
    sim.run_until(at(20_000_000)).expect("invariants hold");
    // Node 0 became Master at MDI(150) = 3 s + 106/256 s = 3.414062 s (floored), then every 1 s.
    assert_eq!(sim.sent_by(0).first(), Some(&(at(3_414_062), 150)));
    let (last, first) = handover(&sim);
    assert_eq!(last, at(9_414_062));
    assert_eq!(first - last, Duration::from_micros(3_609_375));
    assert_eq!(
        sim.transitions_of(1).last().map(|t| t.reason),
        Some(Reason::MasterDownTimerExpired)
    );
}

// RFC 5798 §6.4.3 Shutdown + §6.4.2 priority zero — keepalived SIGTERM: 0.610 s measured.
#[test]
fn priority_zero_at_one_second_takes_over_0_609375_s_after_it() {
    let mut sim = pair(Version::V3, cs(100), Duration::ZERO);
    sim.at(at(10_000_000), Event::Stop(0));
    sim.run_until(at(20_000_000)).expect("invariants hold");
    let (last, first) = handover(&sim);
    assert_eq!(sim.sent_by(0).last(), Some(&(at(10_000_000), 0)));
    assert_eq!(first - last, Duration::from_micros(609_375));
    assert_eq!(
        sim.transitions_of(1).last().map(|t| t.reason),
        Some(Reason::PriorityZeroReceived)
    );
}

// RFC 5798 §6.1 at 0.1 s: 0.3609375 s exact, 360 937 µs after flooring (keepalived: 0.361 s).
#[test]
fn hard_failure_at_a_tenth_of_a_second_takes_over_360_937_us_after_last_advert() {
    let mut sim = pair(Version::V3, cs(10), Duration::ZERO);
    sim.at(at(2_000_000), Event::LinkDown(0));
    sim.run_until(at(4_000_000)).expect("invariants hold");
    let (last, first) = handover(&sim);
    assert_eq!(first - last, Duration::from_micros(360_937));
}

// RFC 5798 §6.4.2 at 0.1 s: Skew_Time 0.0609375 s → 60 937 µs (keepalived: 0.061 s).
#[test]
fn priority_zero_at_a_tenth_of_a_second_takes_over_60_937_us_after_it() {
    let mut sim = pair(Version::V3, cs(10), Duration::ZERO);
    sim.at(at(2_000_000), Event::Stop(0));
    sim.run_until(at(4_000_000)).expect("invariants hold");
    let (last, first) = handover(&sim);
    assert_eq!(first - last, Duration::from_micros(60_937));
}

// RFC 3768 §6.1 / §6.4.2: v2 gives the same 3.609375 s and 0.609375 s at 1 s (keepalived v2 row).
#[test]
fn v2_failover_times_match_v3_at_one_second() {
    let mut hard = pair(Version::V2, cs(100), Duration::ZERO);
    hard.at(at(10_000_000), Event::Crash(0));
    hard.run_until(at(20_000_000)).expect("invariants hold");
    let (last, first) = handover(&hard);
    assert_eq!(first - last, Duration::from_micros(3_609_375));
    let mut soft = pair(Version::V2, cs(100), Duration::ZERO);
    soft.at(at(10_000_000), Event::Stop(0));
    soft.run_until(at(20_000_000)).expect("invariants hold");
    let (last, first) = handover(&soft);
    assert_eq!(first - last, Duration::from_micros(609_375));
}

// A one-way delay shifts the takeover by the delay: the timer runs from the advert's arrival.
#[test]
fn link_delay_adds_exactly_once_to_the_takeover() {
    let mut sim = pair(Version::V3, cs(100), Duration::from_micros(250));
    sim.at(at(10_000_000), Event::LinkDown(0));
    sim.run_until(at(20_000_000)).expect("invariants hold");
    let (last, first) = handover(&sim);
    assert_eq!(first - last, Duration::from_micros(3_609_375 + 250));
}

// RFC 5798 §6.4.2 preemption — keepalived "higher priority preempts": 3.42 s measured. A
// priority-150 router started next to a priority-100 Master discards its adverts and takes over
// at its Master_Down_Interval, 3.4140625 s (floored to 3 414 062 µs) after Startup; the old
// Master yields on the first advert it hears (§6.4.3).
#[test]
fn higher_priority_router_preempts_master_down_interval_after_startup() {
    let a = cfg(Version::V3, 150, 11);
    let b = cfg(Version::V3, 100, 13);
    let mut sim = Sim::new(vec![a, b], Duration::from_micros(100), 3);
    sim.at(Instant::ZERO, Event::Start(1));
    sim.at(at(20_000_000), Event::Start(0));
    sim.run_until(at(40_000_000)).expect("invariants hold");
    let t0 = sim.transitions_of(0);
    let took_over = t0
        .iter()
        .find(|t| t.to == State::Master)
        .expect("node 0 took over");
    assert_eq!(
        (took_over.at, took_over.reason),
        (at(23_414_062), Reason::Preempted)
    );
    let yielded = sim
        .transitions_of(1)
        .into_iter()
        .find(|t| t.from == State::Master)
        .expect("node 1 yielded");
    assert_eq!(
        (yielded.at, yielded.reason),
        (at(23_414_162), Reason::HigherPriorityAdvert)
    );
    assert_eq!(sim.sole_master(), Some(0));
}
