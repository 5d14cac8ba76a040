//! Interface faults (keepalived FAULT), forced faults, and effective priority from tracking weights.

mod common;

use common::{advert, at, cfg, cs, drain, router, started};
use vrrp_core::{Action, Input, Reason, Role, State, Transition, Version};

const V3: Version = Version::V3;

fn changed(from: State, to: State, reason: Reason, us: u64) -> Action {
    Action::StateChanged(Transition {
        from,
        to,
        reason,
        at: at(us),
    })
}

fn master_at(priority: u8) -> (vrrp_core::VirtualRouter, u64) {
    let mut r = started(cfg(V3, priority, 11), at(0));
    let d = r.poll_timeout().expect("deadline");
    r.handle_timeout(d);
    drain(&mut r);
    (r, d.as_micros())
}

// Link down on a Master (keepalived FAULT): stop advertising and give up the VIPs; no advert can
// leave a down link, so none is queued. Adverts are ignored in Fault.
#[test]
fn link_down_on_master_enters_fault_and_removes_vips_without_advert() {
    let (mut r, _) = master_at(100);
    r.handle_input(at(5_000_000), Input::InterfaceDown);
    assert_eq!(
        drain(&mut r),
        vec![
            changed(State::Master, State::Fault, Reason::LinkDown, 5_000_000),
            Action::SetRole(Role::Inactive),
            Action::RemoveVips,
        ]
    );
    assert_eq!(r.poll_timeout(), None);
    r.handle_input(at(5_100_000), advert(V3, 12, 200, cs(100)));
    assert_eq!(
        (r.state(), r.counters().adverts_discarded),
        (State::Fault, 1)
    );
}

// Link up re-enters the protocol as Startup would (RFC 5798 §6.4.1): Backup with a fresh
// Master_Down_Timer.
#[test]
fn link_up_reinitializes_to_backup_with_fresh_master_down_timer() {
    let (mut r, _) = master_at(100);
    r.handle_input(at(5_000_000), Input::InterfaceDown);
    drain(&mut r);
    r.handle_input(at(9_000_000), Input::InterfaceUp);
    assert_eq!(
        drain(&mut r),
        vec![
            changed(State::Fault, State::Backup, Reason::LinkUp, 9_000_000),
            Action::SetRole(Role::Backup)
        ]
    );
    assert_eq!(r.poll_timeout(), Some(at(12_609_375)));
}

// RFC 5798 §6.4.1 on link up for the owner: straight back to Master.
#[test]
fn owner_link_up_returns_to_master() {
    let mut r = started(cfg(V3, 255, 11), at(0));
    r.handle_input(at(1_000), Input::InterfaceDown);
    r.handle_input(at(2_000), Input::InterfaceUp);
    assert_eq!(r.state(), State::Master);
    assert_eq!(r.last_transition().map(|t| t.reason), Some(Reason::LinkUp));
    assert_eq!(r.poll_timeout(), Some(at(1_002_000)));
}

// A Backup losing its link goes to Fault and cancels Master_Down_Timer.
#[test]
fn link_down_on_backup_cancels_master_down_timer() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_input(at(1_000_000), Input::InterfaceDown);
    assert_eq!(
        drain(&mut r),
        vec![
            changed(State::Backup, State::Fault, Reason::LinkDown, 1_000_000),
            Action::SetRole(Role::Inactive)
        ]
    );
    assert_eq!(r.poll_timeout(), None);
}

// Startup with the link already down waits in Fault; link up then starts it.
#[test]
fn startup_with_link_down_waits_in_fault() {
    let mut r = router(cfg(V3, 100, 11));
    r.handle_input(at(0), Input::InterfaceDown);
    r.handle_input(at(10), Input::Startup);
    assert_eq!(
        drain(&mut r),
        vec![changed(
            State::Initialize,
            State::Fault,
            Reason::LinkDown,
            10
        )]
    );
    r.handle_input(at(20), Input::InterfaceUp);
    assert_eq!(r.state(), State::Backup);
    assert_eq!(r.poll_timeout(), Some(at(3_609_395)));
}

// A forced fault (link still up) on a Master sends a priority-0 advert first, as a Shutdown does
// (RFC 5798 §6.4.3), so Backups take over after Skew_Time; both faults must clear to leave Fault.
#[test]
fn forced_fault_on_master_sends_priority_zero_and_needs_every_fault_cleared() {
    let (mut r, _) = master_at(100);
    r.handle_input(at(5_000_000), Input::ForceFault);
    assert_eq!(
        drain(&mut r),
        vec![
            changed(State::Master, State::Fault, Reason::ForcedFault, 5_000_000),
            Action::SendAdvert { priority: 0 },
            Action::SetRole(Role::Inactive),
            Action::RemoveVips,
        ]
    );
    r.handle_input(at(5_100_000), Input::InterfaceDown);
    r.handle_input(at(5_200_000), Input::ClearFault);
    assert_eq!(r.state(), State::Fault);
    r.handle_input(at(5_300_000), Input::InterfaceUp);
    assert_eq!(r.state(), State::Backup);
}

// Shutdown from Fault returns to Initialize; a later Startup honours the remembered link state.
#[test]
fn shutdown_from_fault_goes_to_initialize() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_input(at(1), Input::InterfaceDown);
    r.handle_input(at(2), Input::Shutdown);
    assert_eq!(r.state(), State::Initialize);
    r.handle_input(at(3), Input::Startup);
    assert_eq!(r.state(), State::Fault);
}

// Effective priority = configured + weights, clamped to 1..=254 (RFC 5798 §5.2.4: 255 is the
// owner's, 0 means stop); the owner stays 255.
#[test]
fn effective_priority_is_clamped_and_owner_stays_255() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_input(at(1), Input::TrackWeight(500));
    assert_eq!(r.effective_priority(), 254);
    r.handle_input(at(2), Input::TrackWeight(-150));
    assert_eq!(r.effective_priority(), 1);
    r.handle_input(at(3), Input::TrackWeight(i32::MIN));
    assert_eq!(r.effective_priority(), 1);
    r.handle_input(at(4), Input::TrackWeight(-20));
    assert_eq!(r.effective_priority(), 80);
    let mut owner = started(cfg(V3, 255, 12), at(0));
    owner.handle_input(at(5), Input::TrackWeight(-100));
    assert_eq!(owner.effective_priority(), 255);
}

// A priority change on a Master is advertised at once (keepalived), resetting Adver_Timer.
#[test]
fn priority_change_on_master_is_advertised_at_once() {
    let (mut r, became) = master_at(100);
    r.handle_input(at(became + 300_000), Input::TrackWeight(-30));
    assert_eq!(drain(&mut r), vec![Action::SendAdvert { priority: 70 }]);
    assert_eq!(r.poll_timeout(), Some(at(became + 1_300_000)));
    // An unchanged total sends nothing.
    r.handle_input(at(became + 400_000), Input::TrackWeight(-30));
    assert_eq!(drain(&mut r), vec![]);
}

// On a Backup a raised priority changes Skew_Time and the §6.4.2 comparison: the Master's next
// advert (now lower) is discarded and the Backup preempts when the running timer fires.
#[test]
fn priority_raise_on_backup_preempts_at_the_running_deadline() {
    let mut r = started(cfg(V3, 100, 11), at(0));
    r.handle_input(at(1_000_000), advert(V3, 12, 150, cs(100)));
    assert_eq!(r.poll_timeout(), Some(at(4_609_375)));
    r.handle_input(at(1_500_000), Input::TrackWeight(100)); // 200 > 150
    assert_eq!(r.skew_time().as_micros(), 218_750);
    r.handle_input(at(2_000_000), advert(V3, 12, 150, cs(100)));
    assert_eq!(r.poll_timeout(), Some(at(4_609_375)));
    r.handle_timeout(at(4_609_375));
    assert_eq!(
        r.last_transition().map(|t| (t.to, t.reason)),
        Some((State::Master, Reason::Preempted))
    );
}
