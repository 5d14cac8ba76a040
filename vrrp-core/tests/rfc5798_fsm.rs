//! RFC 5798 §6.4 clause-by-clause tests of `VirtualRouter` (v3), with exact deadlines and actions.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{advert, at, cfg, cs, drain, router, started, v4, v6_ll, vip};
use vrrp_core::router::address_greater;
use vrrp_core::{
    Action, Input, Reason, ReceivedAdvert, Role, RouterConfig, State, Transition, Version, Vrid,
    Warning,
};

const V3: Version = Version::V3;

fn changed(from: State, to: State, reason: Reason, us: u64) -> Action {
    Action::StateChanged(Transition {
        from,
        to,
        reason,
        at: at(us),
    })
}

fn become_master_actions(
    from: State,
    reason: Reason,
    us: u64,
    priority: u8,
    accept: bool,
) -> Vec<Action> {
    vec![
        changed(from, State::Master, reason, us),
        Action::SetRole(Role::Master { accept }),
        Action::AddVips,
        Action::SendAdvert { priority },
        Action::Announce,
    ]
}

// ---- §6.4.1 Initialize ----------------------------------------------------------------------

// RFC 5798 §6.4.1: the owner (priority 255) sends an advert, announces, sets Adver_Timer to
// Advertisement_Interval and becomes Master.
#[test]
fn owner_startup_goes_straight_to_master_with_advert_and_announcement() {
    let mut r = router(cfg(V3, 255, 11));
    r.handle_input(at(5), Input::Startup);
    assert_eq!(
        drain(&mut r),
        become_master_actions(State::Initialize, Reason::OwnerStartup, 5, 255, true)
    );
    assert_eq!(r.poll_timeout(), Some(at(1_000_005)));
    assert_eq!(r.master_address(), Some(v4(11)));
    assert!(r.accepts_vip_traffic());
}

// RFC 5798 §6.4.1: a non-owner sets Master_Adver_Interval = Advertisement_Interval and
// Master_Down_Timer = Master_Down_Interval (3 s + 156/256 s at priority 100), then Backup.
#[test]
fn non_owner_startup_becomes_backup_with_master_down_timer() {
    let mut r = router(cfg(V3, 100, 11));
    r.handle_input(at(0), Input::Startup);
    assert_eq!(
        drain(&mut r),
        vec![
            changed(State::Initialize, State::Backup, Reason::Startup, 0),
            Action::SetRole(Role::Backup)
        ]
    );
    assert_eq!(r.poll_timeout(), Some(at(3_609_375)));
    assert_eq!(r.master_adver_interval(), cs(100));
    assert_eq!(r.skew_time(), Duration::from_micros(609_375));
}

// RFC 5798 §6.4.1: Startup is only an event in Initialize; a second one is ignored.
#[test]
fn second_startup_is_ignored() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_input(at(10), Input::Startup);
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(r.poll_timeout(), Some(at(3_609_375)));
}

// ---- §6.4.2 Backup ---------------------------------------------------------------------------

// RFC 5798 §6.4.2: "If the Master_Down_Timer fires": send an advert, announce, Adver_Timer,
// transition to Master. Nothing happens one microsecond earlier.
#[test]
fn backup_master_down_timer_expiry_becomes_master_at_the_exact_microsecond() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_timeout(at(3_609_374));
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(r.state(), State::Backup);
    r.handle_timeout(at(3_609_375));
    assert_eq!(
        drain(&mut r),
        become_master_actions(
            State::Backup,
            Reason::MasterDownTimerExpired,
            3_609_375,
            100,
            false
        )
    );
    assert_eq!(r.poll_timeout(), Some(at(4_609_375)));
    assert_eq!(r.counters().became_master, 1);
}

// RFC 5798 §6.4.2: an advert with priority >= ours resets Master_Down_Timer to
// Master_Down_Interval from its arrival.
#[test]
fn backup_accepting_advert_resets_master_down_timer() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_input(at(2_000_000), advert(V3, 12, 150, cs(100)));
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(r.poll_timeout(), Some(at(5_609_375)));
    assert_eq!(r.master_address(), Some(v4(12)));
}

// RFC 5798 §6.4.2: "Set Master_Adver_Interval to Adver Interval contained in the ADVERTISEMENT;
// Recompute the Master_Down_Interval": 0.5 s → 1.5 s + 156 × 0.5 s / 256 = 1.8046875 s, floored
// to 1 804 687 µs.
#[test]
fn backup_learns_master_adver_interval_from_v3_advert() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_input(at(1_000_000), advert(V3, 12, 200, cs(50)));
    assert_eq!(r.master_adver_interval(), cs(50));
    assert_eq!(r.master_down_interval(), Duration::from_micros(1_804_687));
    assert_eq!(r.poll_timeout(), Some(at(2_804_687)));
}

// RFC 5798 §6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the
// Master_Down_Timer to Skew_Time" (156/256 s at priority 100, 1 s).
#[test]
fn backup_receiving_priority_zero_sets_master_down_timer_to_skew_time() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_input(at(1_000_000), advert(V3, 12, 200, cs(100)));
    r.handle_input(at(1_500_000), advert(V3, 12, 0, cs(100)));
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(r.poll_timeout(), Some(at(2_109_375)));
    assert_eq!(r.master_address(), None);
    r.handle_timeout(at(2_109_375));
    assert_eq!(
        drain(&mut r),
        become_master_actions(
            State::Backup,
            Reason::PriorityZeroReceived,
            2_109_375,
            100,
            false
        )
    );
}

// RFC 5798 §6.4.2: with Preempt_Mode true, a lower-priority advert is discarded; the timer
// keeps running and the Backup preempts when it fires.
#[test]
fn backup_with_preempt_discards_lower_priority_advert_and_preempts_on_timer() {
    let mut r = started(cfg(V3, 200, 11), at(0));
    let mdi = 3_000_000 + 56 * 1_000_000 / 256; // 3.21875 s
    assert_eq!(r.poll_timeout(), Some(at(mdi)));
    r.handle_input(at(1_000_000), advert(V3, 12, 100, cs(100)));
    r.handle_input(at(2_000_000), advert(V3, 12, 100, cs(100)));
    assert_eq!(r.poll_timeout(), Some(at(mdi)));
    assert_eq!(r.counters().adverts_discarded, 2);
    r.handle_timeout(at(mdi));
    assert_eq!(
        drain(&mut r),
        become_master_actions(State::Backup, Reason::Preempted, mdi, 200, false)
    );
}

// RFC 5798 §6.4.2: "If Preempt_Mode is False ... Reset the Master_Down_Timer": a non-preempting
// Backup accepts a lower-priority Master.
#[test]
fn backup_without_preempt_accepts_lower_priority_master() {
    let mut c = cfg(V3, 200, 11);
    c.preempt = false;
    let mut r = started(c, at(0));
    r.handle_input(at(3_000_000), advert(V3, 12, 100, cs(100)));
    assert_eq!(r.poll_timeout(), Some(at(6_218_750)));
    assert_eq!(r.master_address(), Some(v4(12)));
}

// RFC 5798 §6.4.2: "greater than or equal to the local Priority" — an equal-priority Master is
// accepted even from a lower address (the tie-break is only applied by a Master, §6.4.3).
#[test]
fn backup_accepts_equal_priority_advert_even_from_lower_address() {
    let mut r = started(cfg(V3, 100, 20), at(0));
    r.handle_input(at(1_000_000), advert(V3, 12, 100, cs(100)));
    assert_eq!(r.poll_timeout(), Some(at(4_609_375)));
}

// keepalived preempt_delay: inside the delay a lower-priority Master is accepted as without
// preemption; from the delay's end its adverts are discarded (RFC 5798 §6.4.2) and the takeover
// comes Master_Down_Interval after the last accepted advert: 9 s + 3.21875 s.
#[test]
fn preempt_delay_postpones_preemption_until_it_elapses() {
    let mut c = cfg(V3, 200, 11);
    c.preempt_delay = Duration::from_secs(10);
    let mut r = started(c, at(0));
    for s in 1..=12u64 {
        if r.state() != State::Backup {
            break;
        }
        r.handle_timeout(at(s * 1_000_000 - 1));
        r.handle_input(at(s * 1_000_000), advert(V3, 12, 100, cs(100)));
    }
    assert_eq!(r.poll_timeout(), Some(at(12_218_750)));
    assert_eq!(r.counters().adverts_discarded, 3); // at 10, 11 and 12 s
    r.handle_timeout(at(12_218_750));
    assert_eq!(
        r.last_transition().map(|t| (t.to, t.reason)),
        Some((State::Master, Reason::Preempted))
    );
}

// RFC 5798 §6.4.2: "If a Shutdown event is received: Cancel the Master_Down_Timer; Transition
// to the Initialize state".
#[test]
fn backup_shutdown_cancels_timer_and_returns_to_initialize() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_input(at(7), Input::Shutdown);
    assert_eq!(
        drain(&mut r),
        vec![
            changed(State::Backup, State::Initialize, Reason::Shutdown, 7),
            Action::SetRole(Role::Inactive)
        ]
    );
    assert_eq!(r.poll_timeout(), None);
    r.handle_input(at(8), advert(V3, 12, 200, cs(100)));
    assert_eq!((r.state(), r.poll_timeout()), (State::Initialize, None));
}

// ---- §6.4.3 Master ---------------------------------------------------------------------------

fn master(c: RouterConfig) -> vrrp_core::VirtualRouter {
    let mut r = started(c, at(0));
    if r.state() == State::Backup {
        let d = r.poll_timeout().expect("backup has a master-down deadline");
        r.handle_timeout(d);
        drain(&mut r);
    }
    assert_eq!(r.state(), State::Master);
    r
}

// RFC 5798 §6.4.3: "If the Adver_Timer fires: Send an ADVERTISEMENT; Reset the Adver_Timer".
// A late call does not shift the schedule.
#[test]
fn master_adver_timer_sends_one_advert_per_interval_without_drift() {
    let mut r = master(cfg(V3, 255, 11));
    r.handle_timeout(at(999_999));
    assert_eq!(drain(&mut r), vec![]);
    r.handle_timeout(at(1_000_300));
    assert_eq!(drain(&mut r), vec![Action::SendAdvert { priority: 255 }]);
    assert_eq!(r.poll_timeout(), Some(at(2_000_000)));
    // More than one interval late: restart from now, no burst.
    r.handle_timeout(at(3_500_000));
    assert_eq!(drain(&mut r), vec![Action::SendAdvert { priority: 255 }]);
    assert_eq!(r.poll_timeout(), Some(at(4_500_000)));
}

// RFC 5798 §6.4.3: "If the Priority in the ADVERTISEMENT is zero, then: Send an ADVERTISEMENT;
// Reset the Adver_Timer to Advertisement_Interval".
#[test]
fn master_receiving_priority_zero_sends_advert_at_once_and_resets_adver_timer() {
    let mut r = master(cfg(V3, 200, 11));
    // Master since 3.21875 s (Master_Down_Interval at priority 200).
    r.handle_input(at(3_600_000), advert(V3, 12, 0, cs(100)));
    assert_eq!(drain(&mut r), vec![Action::SendAdvert { priority: 200 }]);
    assert_eq!(r.poll_timeout(), Some(at(4_600_000)));
    assert_eq!(r.counters().priority_zero_received, 1);
}

// RFC 5798 §6.4.3: a higher priority makes the Master cancel Adver_Timer, learn the interval,
// arm Master_Down_Timer and become Backup (and the Backup gives up the VIPs, §6.4.2).
#[test]
fn master_receiving_higher_priority_becomes_backup_with_learned_interval() {
    let mut r = master(cfg(V3, 100, 11));
    let t = 4_000_000;
    r.handle_input(at(t), advert(V3, 12, 150, cs(200)));
    assert_eq!(
        drain(&mut r),
        vec![
            changed(
                State::Master,
                State::Backup,
                Reason::HigherPriorityAdvert,
                t
            ),
            Action::SetRole(Role::Backup),
            Action::RemoveVips,
        ]
    );
    // 3 × 2 s + 156 × 2 s / 256 = 7.21875 s
    assert_eq!(r.poll_timeout(), Some(at(t + 7_218_750)));
    assert_eq!(r.master_adver_interval(), cs(200));
    assert_eq!(r.master_address(), Some(v4(12)));
}

// RFC 5798 §6.4.3: equal priority and a greater sender address: become Backup.
#[test]
fn master_receiving_equal_priority_from_higher_address_becomes_backup() {
    let mut r = master(cfg(V3, 100, 11));
    r.handle_input(at(4_000_000), advert(V3, 12, 100, cs(100)));
    assert_eq!(
        r.last_transition().map(|t| (t.from, t.to, t.reason)),
        Some((
            State::Master,
            State::Backup,
            Reason::EqualPriorityHigherAddress
        ))
    );
}

// RFC 5798 §6.4.3 "Otherwise: Discard": equal priority from a lower address, or lower priority;
// by default we re-assert at once (keepalived lower_prio_no_advert off).
#[test]
fn master_discards_lower_or_tie_losing_advert_and_reasserts_by_default() {
    let mut r = master(cfg(V3, 100, 20));
    r.handle_input(at(4_000_000), advert(V3, 12, 100, cs(100)));
    assert_eq!(drain(&mut r), vec![Action::SendAdvert { priority: 100 }]);
    assert_eq!(r.poll_timeout(), Some(at(5_000_000)));
    r.handle_input(at(4_200_000), advert(V3, 30, 99, cs(100)));
    assert_eq!(drain(&mut r), vec![Action::SendAdvert { priority: 100 }]);
    assert_eq!(r.state(), State::Master);
}

// RFC 5798 §6.4.3 strictly: with reassertion off, a lower-priority advert causes nothing.
#[test]
fn master_with_reassert_off_silently_discards_lower_priority() {
    let mut c = cfg(V3, 100, 20);
    c.reassert_on_lower_priority = false;
    let mut r = master(c);
    let deadline = r.poll_timeout();
    r.handle_input(at(4_000_000), advert(V3, 12, 50, cs(100)));
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(r.poll_timeout(), deadline);
}

// keepalived higher_prio_send_advert: one last advert before yielding (RFC 5798 §6.4.3 sends none).
#[test]
fn master_with_advert_before_yielding_sends_one_advert_then_becomes_backup() {
    let mut c = cfg(V3, 100, 11);
    c.advert_before_yielding = true;
    let mut r = master(c);
    r.handle_input(at(4_000_000), advert(V3, 12, 150, cs(100)));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::SendAdvert { priority: 100 },
            changed(
                State::Master,
                State::Backup,
                Reason::HigherPriorityAdvert,
                4_000_000
            ),
            Action::SetRole(Role::Backup),
            Action::RemoveVips,
        ]
    );
}

// RFC 5798 §6.4.3: "If a Shutdown event is received: Cancel the Adver_Timer; Send an
// ADVERTISEMENT with Priority = 0; Transition to the Initialize state" (then drop the VIPs).
#[test]
fn master_shutdown_sends_priority_zero_then_removes_vips() {
    let mut r = master(cfg(V3, 255, 11));
    r.handle_input(at(2_500_000), Input::Shutdown);
    assert_eq!(
        drain(&mut r),
        vec![
            changed(
                State::Master,
                State::Initialize,
                Reason::Shutdown,
                2_500_000
            ),
            Action::SendAdvert { priority: 0 },
            Action::SetRole(Role::Inactive),
            Action::RemoveVips,
        ]
    );
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.counters().priority_zero_sent, 1);
}

// RFC 5798 §6.4.3: the tie-break compares primary addresses as unsigned integers in network
// byte order, within one family.
#[test]
fn address_tie_break_compares_network_order_integers_per_family() {
    assert!(address_greater(v4(12), v4(11)));
    assert!(!address_greater(v4(11), v4(11)));
    let ten: IpAddr = "10.255.255.255".parse().expect("literal");
    assert!(address_greater(v4(1), ten)); // 192.0.2.1 > 10.255.255.255
    assert!(address_greater(v6_ll(0x100), v6_ll(0xff)));
    let doc: IpAddr = "2001:db8::ffff".parse().expect("literal");
    assert!(address_greater(v6_ll(1), doc)); // fe80:: > 2001:db8::
    assert!(!address_greater(v6_ll(1), v4(1)));
    assert!(!address_greater(v4(1), v6_ll(1)));
}

// RFC 5798 §6.4.3 over IPv6: a link-local source with a higher address wins the tie.
#[test]
fn ipv6_master_yields_to_equal_priority_from_higher_link_local() {
    let six = |n| RouterConfig::new(Vrid::new(7).expect("vrid"), V3, v6_ll(n), vec![v6_ll(0x51)]);
    let mut r = master(six(0x11));
    let ad = ReceivedAdvert {
        src: v6_ll(0x12),
        version: V3,
        priority: 100,
        max_adver_int: cs(100),
        addresses: vec![v6_ll(0x51)],
    };
    r.handle_input(at(5_000_000), Input::Advert(ad));
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.master_address(), Some(v6_ll(0x12)));
}

// ---- §7.1 receive checks that need configuration ----------------------------------------------

// RFC 5798 §7.1: a mismatched address list is logged; from a non-owner the advert is dropped.
#[test]
fn address_list_mismatch_from_non_owner_is_warned_and_dropped() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    let ad = ReceivedAdvert {
        src: v4(12),
        version: V3,
        priority: 200,
        max_adver_int: cs(100),
        addresses: vec![v4(101)],
    };
    r.handle_input(at(1_000_000), Input::Advert(ad));
    assert_eq!(
        drain(&mut r),
        vec![Action::Warning(Warning::AddressListMismatch {
            src: v4(12),
            priority: 200,
            dropped: true
        })]
    );
    assert_eq!(r.poll_timeout(), Some(at(3_609_375)));
    assert_eq!(r.counters().address_list_mismatch, 1);
}

// RFC 5798 §7.1: "... otherwise continue processing" — from the owner (255) it is processed.
#[test]
fn address_list_mismatch_from_owner_is_warned_and_processed() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    let ad = ReceivedAdvert {
        src: v4(12),
        version: V3,
        priority: 255,
        max_adver_int: cs(100),
        addresses: vec![vip(), v4(101)],
    };
    r.handle_input(at(1_000_000), Input::Advert(ad));
    assert_eq!(
        drain(&mut r),
        vec![Action::Warning(Warning::AddressListMismatch {
            src: v4(12),
            priority: 255,
            dropped: false
        })]
    );
    assert_eq!(r.poll_timeout(), Some(at(4_609_375)));
}

// RFC 5798 §5.2.9 fixes no order: the same set in another order is not a mismatch.
#[test]
fn address_list_in_another_order_is_not_a_mismatch() {
    let mut c = cfg(V3, 100, 11);
    c.virtual_addresses = vec![v4(100), v4(101)];
    let mut r = started(c, at(0));
    let ad = ReceivedAdvert {
        src: v4(12),
        version: V3,
        priority: 150,
        max_adver_int: cs(100),
        addresses: vec![v4(101), v4(100)],
    };
    r.handle_input(at(1_000_000), Input::Advert(ad));
    assert_eq!(drain(&mut r), vec![]);
    assert_eq!(r.poll_timeout(), Some(at(4_609_375)));
}

// RFC 5798 §7.1: the version must match; a v2 advert reaching a v3 router is discarded.
#[test]
fn advert_of_other_version_is_warned_and_discarded() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_input(at(1_000_000), advert(Version::V2, 12, 200, cs(100)));
    assert_eq!(
        drain(&mut r),
        vec![Action::Warning(Warning::VersionMismatch {
            src: v4(12),
            received: Version::V2
        })]
    );
    assert_eq!(r.poll_timeout(), Some(at(3_609_375)));
}

// Our own advert looped back (or an address conflict) is never taken for another router's.
#[test]
fn advert_from_own_primary_address_is_discarded() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_input(at(1_000_000), advert(V3, 11, 200, cs(100)));
    assert_eq!(
        drain(&mut r),
        vec![Action::Warning(Warning::OwnAddress { src: v4(11) })]
    );
    assert_eq!(r.poll_timeout(), Some(at(3_609_375)));
}

// RFC 9568 §7.1 with errata 8298: an owner hearing another router logs and processes it, so two
// owners settle by address (§6.4.3) instead of both staying Master.
#[test]
fn owner_hearing_another_owner_with_higher_address_yields() {
    let mut r = master(cfg(V3, 255, 11));
    r.handle_input(at(500_000), advert(V3, 12, 255, cs(100)));
    assert_eq!(
        drain(&mut r),
        vec![
            Action::Warning(Warning::AdvertReceivedByOwner {
                src: v4(12),
                priority: 255
            }),
            changed(
                State::Master,
                State::Backup,
                Reason::EqualPriorityHigherAddress,
                500_000
            ),
            Action::SetRole(Role::Backup),
            Action::RemoveVips,
        ]
    );
    // Owner as Backup: skew 1/256 s → 3 s + 3 906 µs.
    assert_eq!(r.poll_timeout(), Some(at(500_000 + 3_003_906)));
}

// RFC 5798 §6.1 Accept_Mode: reported to the data plane, no effect on the election.
#[test]
fn accept_mode_only_changes_the_master_role_flag() {
    let mut c = cfg(V3, 100, 11);
    c.accept_mode = true;
    let mut r = started(c, at(0));
    assert_eq!(r.poll_timeout(), Some(at(3_609_375)));
    r.handle_timeout(at(3_609_375));
    assert_eq!(
        drain(&mut r),
        become_master_actions(
            State::Backup,
            Reason::MasterDownTimerExpired,
            3_609_375,
            100,
            true
        )
    );
    assert!(r.accepts_vip_traffic());
}
