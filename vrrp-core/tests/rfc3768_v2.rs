//! RFC 3768 (VRRPv2) differences: skew in seconds, no interval learning, interval mismatch discard.

mod common;

use common::{advert, at, cfg, drain, started, v4};
use vrrp_core::{Action, Centis, Reason, State, Version, Warning};

const V2: Version = Version::V2;

fn secs(s: u8) -> Centis {
    Centis::from_secs(s).expect("non-zero seconds")
}

// RFC 3768 §6.1: Skew_Time = (256 - Priority) / 256 seconds, not scaled by the interval:
// 5 s adverts, priority 200 → 15 s + 56/256 s = 15.21875 s.
#[test]
fn v2_master_down_interval_uses_one_second_skew_base() {
    let mut c = cfg(V2, 200, 11);
    c.advert_interval = secs(5);
    let r = started(c, at(0));
    assert_eq!(r.poll_timeout(), Some(at(15_218_750)));
}

// RFC 3768 §7.1: "MUST verify that the Adver Interval in the packet is the same as the locally
// configured ... If the above check fails, the receiver MUST discard the packet, SHOULD log".
#[test]
fn v2_advert_with_other_interval_is_discarded_counted_and_logged() {
    let mut r = started(cfg(V2, 100, 11), at(0));
    r.handle_input(at(1_000_000), advert(V2, 12, 200, secs(2)));
    assert_eq!(
        drain(&mut r),
        vec![Action::Warning(Warning::AdvertIntervalMismatch {
            src: v4(12),
            received: secs(2),
            configured: secs(1)
        })]
    );
    assert_eq!(r.poll_timeout(), Some(at(3_609_375)));
    assert_eq!(r.counters().interval_mismatch, 1);
    assert_eq!(r.counters().adverts_discarded, 1);
}

// RFC 3768 §6.4.2: the v2 Backup resets Master_Down_Timer to Master_Down_Interval; there is no
// Master_Adver_Interval learning (that is RFC 5798 §6.4.2 only).
#[test]
fn v2_backup_accepts_matching_advert_without_learning() {
    let mut r = started(cfg(V2, 100, 11), at(0));
    r.handle_input(at(2_000_000), advert(V2, 12, 150, secs(1)));
    assert_eq!(r.master_adver_interval(), secs(1));
    assert_eq!(r.poll_timeout(), Some(at(5_609_375)));
}

// RFC 3768 §6.4.2: a priority-0 advert sets Master_Down_Timer to Skew_Time (0.609375 s at 100).
#[test]
fn v2_backup_receiving_priority_zero_takes_over_after_skew_time() {
    let mut r = started(cfg(V2, 100, 11), at(0));
    r.handle_input(at(2_000_000), advert(V2, 12, 150, secs(1)));
    r.handle_input(at(2_500_000), advert(V2, 12, 0, secs(1)));
    assert_eq!(r.poll_timeout(), Some(at(3_109_375)));
    r.handle_timeout(at(3_109_375));
    assert_eq!(
        r.last_transition().map(|t| (t.to, t.reason)),
        Some((State::Master, Reason::PriorityZeroReceived))
    );
}

// RFC 3768 §6.4.3: a v2 Master yielding keeps its own interval (all routers share it) and arms
// Master_Down_Interval = 3 s + (256 - 100)/256 s.
#[test]
fn v2_master_yields_to_higher_priority() {
    let mut r = started(cfg(V2, 100, 11), at(0));
    r.handle_timeout(at(3_609_375));
    drain(&mut r);
    r.handle_input(at(4_000_000), advert(V2, 12, 101, secs(1)));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.poll_timeout(), Some(at(7_609_375)));
}
