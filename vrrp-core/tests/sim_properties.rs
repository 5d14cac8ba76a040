//! Simulated-LAN scenarios and property tests: invariants after every step (see common/sim.rs).
//!
//! Invariants, checked after every step of virtual time:
//! 1. A Backup's Master_Down deadline is in the future and no later than the last advert it heard
//!    (or its entry into Backup) plus Master_Down_Interval computed independently from the RFC
//!    5798 §6.1 / RFC 3768 §6.1 formulas; when it fires the Backup is Master (§6.4.2).
//! 2. Once the LAN is connected, loss-free and unchanged for the settle time, exactly one router
//!    is Master (at most one, and one if any router runs).
//! 3. With preemption on everywhere (and no preempt delay), that Master has the highest effective
//!    priority (§6.4.2, §6.4.3).
//! 4. No router changes state while nothing changes.
//!
//! Settle time = Master_Down_Interval at priority 1 + 2 × (interval + delay): after a change,
//! the highest-priority router stops accepting lower adverts and fires within one
//! Master_Down_Interval; every other Master hears it within interval + delay and yields (§6.4.3);
//! one more interval + delay covers adverts in flight.

mod common;

use std::time::Duration;

use common::sim::{Event, Sim};
use common::{at, cfg};
use proptest::prelude::*;
use vrrp_core::{Centis, Instant, Reason, RouterConfig, State, Version};

fn lan(priorities: &[u8], version: Version, interval: Centis, preempt: bool) -> Vec<RouterConfig> {
    priorities
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut c = cfg(version, *p, 10 + u8::try_from(i).unwrap_or(0));
            c.advert_interval = interval;
            c.preempt = preempt;
            c
        })
        .collect()
}

fn start_all(sim: &mut Sim, when: Instant) {
    for i in 0..sim.nodes.len() {
        sim.at(when, Event::Start(i));
    }
}

// RFC 5798 §6.4.3: two equal-priority routers started together both time out at the same
// instant, both become Master, and the lower address yields on hearing the higher one.
#[test]
fn equal_priority_simultaneous_start_elects_the_higher_address() {
    let mut sim = Sim::new(
        lan(&[100, 100], Version::V3, Centis::DEFAULT, true),
        Duration::from_micros(50),
        1,
    );
    start_all(&mut sim, Instant::ZERO);
    sim.run_until(at(20_000_000)).expect("invariants hold");
    assert_eq!(sim.sole_master(), Some(1)); // 192.0.2.11 > 192.0.2.10
    let yielded = sim
        .transitions_of(0)
        .into_iter()
        .find(|t| t.from == State::Master)
        .expect("node 0 yielded");
    assert_eq!(
        (yielded.at, yielded.reason),
        (at(3_609_375 + 50), Reason::EqualPriorityHigherAddress)
    );
}

// RFC 5798 §6.4.2 / §6.4.3 with ten routers: the highest priority ends as the only Master.
#[test]
fn ten_routers_elect_the_highest_priority() {
    let prios = [10, 250, 30, 40, 200, 60, 70, 80, 90, 100];
    let mut sim = Sim::new(
        lan(&prios, Version::V3, Centis::DEFAULT, true),
        Duration::from_micros(200),
        2,
    );
    start_all(&mut sim, Instant::ZERO);
    sim.run_until(at(30_000_000)).expect("invariants hold");
    assert_eq!(sim.sole_master(), Some(1));
    assert!(sim.stable_checks > 0);
}

// Partition: each side elects its own Master (§6.4.2); heal: the lower one yields (§6.4.3).
#[test]
fn partition_elects_one_master_per_side_and_heal_keeps_the_highest() {
    let mut sim = Sim::new(
        lan(&[200, 150, 100], Version::V3, Centis::DEFAULT, true),
        Duration::from_micros(100),
        3,
    );
    start_all(&mut sim, Instant::ZERO);
    sim.at(at(10_000_000), Event::Partition(vec![0, 1, 1]));
    sim.at(at(20_000_000), Event::Heal);
    sim.run_until(at(19_999_999)).expect("invariants hold");
    assert_eq!(
        (sim.nodes[0].router.state(), sim.nodes[1].router.state()),
        (State::Master, State::Master)
    );
    sim.run_until(at(40_000_000)).expect("invariants hold");
    assert_eq!(sim.sole_master(), Some(0));
    let yielded = sim
        .transitions_of(1)
        .into_iter()
        .rfind(|t| t.from == State::Master)
        .expect("node 1 yielded");
    assert_eq!(yielded.reason, Reason::HigherPriorityAdvert);
}

// RFC 5798 §6.4.2 Preempt_Mode false: a higher-priority router that comes back stays Backup.
#[test]
fn without_preemption_a_returning_higher_priority_router_stays_backup() {
    let mut sim = Sim::new(
        lan(&[200, 100], Version::V3, Centis::DEFAULT, false),
        Duration::ZERO,
        4,
    );
    sim.at(Instant::ZERO, Event::Start(1));
    sim.at(at(10_000_000), Event::Start(0));
    sim.run_until(at(40_000_000)).expect("invariants hold");
    assert_eq!(sim.sole_master(), Some(1));
    assert_eq!(sim.nodes[0].router.state(), State::Backup);
}

// 30 % loss for a while, then a clean LAN: the election converges to the highest priority.
#[test]
fn lossy_period_then_clean_lan_converges() {
    let mut sim = Sim::new(
        lan(
            &[120, 180, 150, 90],
            Version::V3,
            Centis::new(20).unwrap_or(Centis::DEFAULT),
            true,
        ),
        Duration::from_micros(300),
        5,
    );
    start_all(&mut sim, Instant::ZERO);
    sim.at(at(1_000_000), Event::SetLoss(30));
    sim.at(at(30_000_000), Event::SetLoss(0));
    sim.run_until(at(45_000_000)).expect("invariants hold");
    assert_eq!(sim.sole_master(), Some(1));
}

#[derive(Clone, Debug)]
enum Kind {
    Partition(Vec<u8>),
    Heal,
    Loss(u8),
    Crash,
    Stop,
    Start,
    LinkDown,
    LinkUp,
    Weight(i32),
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        prop::collection::vec(0u8..3, 10).prop_map(Kind::Partition),
        Just(Kind::Heal),
        (0u8..50).prop_map(Kind::Loss),
        Just(Kind::Crash),
        Just(Kind::Stop),
        Just(Kind::Start),
        Just(Kind::LinkDown),
        Just(Kind::LinkUp),
        (-120i32..=120).prop_map(Kind::Weight),
    ]
}

#[derive(Clone, Debug)]
struct Scenario {
    priorities: Vec<u8>,
    owner: bool,
    version: Version,
    interval_cs: u16,
    preempt: bool,
    delay_us: u64,
    seed: u64,
    events: Vec<(u64, usize, Kind)>,
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        prop::collection::vec(1u8..=254, 2..=10),
        prop::bool::weighted(0.2),
        prop_oneof![
            Just((Version::V3, 10u16)),
            Just((Version::V3, 25)),
            Just((Version::V3, 100)),
            Just((Version::V2, 100))
        ],
        prop::bool::weighted(0.8),
        0u64..5_000,
        any::<u64>(),
        prop::collection::vec((0u64..40_000, 0usize..10, kind()), 0..14),
    )
        .prop_map(
            |(priorities, owner, (version, interval_cs), preempt, delay_us, seed, events)| {
                Scenario {
                    priorities,
                    owner,
                    version,
                    interval_cs,
                    preempt,
                    delay_us,
                    seed,
                    events,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    // RFC 5798 §6.4 as a whole: random LANs of 2..=10 routers with partitions, loss, crashes,
    // graceful stops, restarts, link flaps and priority changes keep the invariants above, and
    // once everything is restored and left alone, exactly one Master remains.
    #[test]
    fn random_scenarios_keep_the_election_invariants(s in scenario()) {
        let mut prios = s.priorities.clone();
        if s.owner {
            prios[0] = 255;
        }
        let interval = Centis::new(s.interval_cs).unwrap_or(Centis::DEFAULT);
        let n = prios.len();
        let mut sim = Sim::new(lan(&prios, s.version, interval, s.preempt), Duration::from_micros(s.delay_us), s.seed);
        start_all(&mut sim, Instant::ZERO);
        let mut last = 0;
        for (ms, node, k) in &s.events {
            let i = node % n;
            let when = at(ms * 1_000);
            last = last.max(*ms);
            let ev = match k {
                Kind::Partition(seg) => Event::Partition(seg.clone()),
                Kind::Heal => Event::Heal,
                Kind::Loss(p) => Event::SetLoss(*p),
                Kind::Crash => Event::Crash(i),
                Kind::Stop => Event::Stop(i),
                Kind::Start => Event::Start(i),
                Kind::LinkDown => Event::LinkDown(i),
                Kind::LinkUp => Event::LinkUp(i),
                Kind::Weight(w) => Event::Weight(i, *w),
            };
            sim.at(when, ev);
        }
        // Restore everything, then leave the LAN alone.
        let restore = at((last + 1) * 1_000);
        sim.at(restore, Event::Heal);
        sim.at(restore, Event::SetLoss(0));
        for i in 0..n {
            sim.at(restore, Event::LinkUp(i));
            sim.at(restore, Event::Start(i));
        }
        let end = restore + 3 * sim.settle_time();
        let result = sim.run_until(end);
        prop_assert!(result.is_ok(), "{:?}", result);
        prop_assert!(sim.stable_checks > 0);
        prop_assert!(sim.sole_master().is_some());
    }
}

// RFC 5798 §6.4.2 after a crash (no priority-0 advert): the next-highest takes over
// Master_Down_Interval after the last advert; when the highest restarts it preempts back.
#[test]
fn crash_and_restart_of_the_highest_priority_router_fails_over_and_back() {
    let mut sim = Sim::new(
        lan(&[200, 150, 100], Version::V3, Centis::DEFAULT, true),
        Duration::ZERO,
        6,
    );
    start_all(&mut sim, Instant::ZERO);
    sim.at(at(10_000_000), Event::Crash(0));
    sim.at(at(30_000_000), Event::Start(0));
    sim.run_until(at(29_999_999)).expect("invariants hold");
    assert_eq!(sim.sole_master(), Some(1));
    let last = sim
        .sent_by(0)
        .into_iter()
        .rfind(|s| s.0 < at(10_000_000))
        .expect("node 0 advertised");
    let took = sim
        .transitions_of(1)
        .into_iter()
        .find(|t| t.to == State::Master)
        .expect("node 1 took over");
    // 3 s + 106/256 s at priority 150.
    assert_eq!(took.at - last.0, Duration::from_micros(3_414_062));
    sim.run_until(at(50_000_000)).expect("invariants hold");
    assert_eq!(sim.sole_master(), Some(0));
    // Node 0 restarted as Backup and preempted at its Master_Down_Interval (3.21875 s).
    let back = sim
        .transitions_of(0)
        .into_iter()
        .rfind(|t| t.to == State::Master)
        .expect("node 0 preempted");
    assert_eq!((back.at, back.reason), (at(33_218_750), Reason::Preempted));
}
