//! `SyncGroup` semantics (keepalived vrrp_sync_group) driven through real `VirtualRouter`s.

mod common;

use common::{at, cfg, drain, started};
use vrrp_core::{
    Action, Input, Instant, Reason, State, SyncCommand, SyncGroup, Version, VirtualRouter,
};

/// Delivers an input to member `i`, then feeds all resulting actions through the group until no
/// more commands are produced. Returns every action emitted, tagged with its member.
fn drive(
    group: &mut SyncGroup<usize>,
    rs: &mut [VirtualRouter],
    now: Instant,
    i: usize,
    input: Input,
) -> Vec<(usize, Action)> {
    let mut out = Vec::new();
    let mut work = vec![(i, input)];
    while let Some((m, inp)) = work.pop() {
        rs[m].handle_input(now, inp);
        for a in drain(&mut rs[m]) {
            work.extend(group.on_action(&m, &a));
            out.push((m, a));
        }
    }
    out
}

fn two_masters() -> (SyncGroup<usize>, Vec<VirtualRouter>) {
    let mut rs = vec![
        started(cfg(Version::V3, 100, 11), at(0)),
        started(cfg(Version::V3, 100, 11), at(0)),
    ];
    for r in &mut rs {
        r.handle_timeout(at(3_609_375));
        drain(r);
        assert_eq!(r.state(), State::Master);
    }
    (SyncGroup::new([0usize, 1]), rs)
}

// keepalived vrrp_sync_group: one member's fault faults the whole group; the held Master sends
// priority 0 (RFC 5798 §6.4.3 style) so its peers take over after Skew_Time.
#[test]
fn member_link_down_takes_the_group_to_fault() {
    let (mut g, mut rs) = two_masters();
    let out = drive(&mut g, &mut rs, at(5_000_000), 0, Input::InterfaceDown);
    assert_eq!(rs[1].state(), State::Fault);
    assert_eq!(
        rs[1].last_transition().map(|t| t.reason),
        Some(Reason::SyncGroup(SyncCommand::Fault))
    );
    assert!(out.contains(&(1, Action::SendAdvert { priority: 0 })));
    assert!(!out.contains(&(0, Action::SendAdvert { priority: 0 })));
    assert!(g.is_faulty());
}

// When the last own fault clears, the group re-initializes (RFC 5798 §6.4.1) and both are Backup.
#[test]
fn clearing_the_last_fault_releases_the_group() {
    let (mut g, mut rs) = two_masters();
    drive(&mut g, &mut rs, at(5_000_000), 0, Input::InterfaceDown);
    drive(&mut g, &mut rs, at(6_000_000), 0, Input::InterfaceUp);
    assert_eq!(
        (rs[0].state(), rs[1].state()),
        (State::Backup, State::Backup)
    );
    assert_eq!(
        rs[1].last_transition().map(|t| t.reason),
        Some(Reason::SyncGroup(SyncCommand::ClearFault))
    );
    assert_eq!(rs[1].poll_timeout(), Some(at(9_609_375)));
    assert!(!g.is_faulty());
}

// Two members with own faults: the group stays in Fault until both clear.
#[test]
fn group_stays_faulty_while_any_member_has_its_own_fault() {
    let (mut g, mut rs) = two_masters();
    drive(&mut g, &mut rs, at(5_000_000), 0, Input::InterfaceDown);
    // Member 1 is held by the group, then fails itself: reported as Fault -> Fault.
    let out = drive(&mut g, &mut rs, at(5_100_000), 1, Input::ForceFault);
    assert!(
        matches!(out.first(), Some((1, Action::StateChanged(t))) if t.from == State::Fault && t.to == State::Fault && t.reason == Reason::ForcedFault)
    );
    drive(&mut g, &mut rs, at(6_000_000), 0, Input::InterfaceUp);
    assert_eq!(
        rs[0].state(),
        State::Fault,
        "member 1's own fault still holds the group"
    );
    drive(&mut g, &mut rs, at(7_000_000), 1, Input::ClearFault);
    assert_eq!(
        (rs[0].state(), rs[1].state()),
        (State::Backup, State::Backup)
    );
}

// A member going Master -> Backup (RFC 5798 §6.4.3) takes the other Masters to Backup.
#[test]
fn member_yielding_to_higher_priority_takes_the_group_to_backup() {
    let (mut g, mut rs) = two_masters();
    let ad = common::advert(Version::V3, 12, 200, common::cs(100));
    drive(&mut g, &mut rs, at(5_000_000), 0, ad);
    assert_eq!(
        (rs[0].state(), rs[1].state()),
        (State::Backup, State::Backup)
    );
    assert_eq!(
        rs[1].last_transition().map(|t| t.reason),
        Some(Reason::SyncGroup(SyncCommand::Backup))
    );
    assert_eq!(rs[1].poll_timeout(), Some(at(8_609_375)));
}

// A member going Backup -> Master takes the other Backups to Master (keepalived); the group's own
// transitions are not propagated again.
#[test]
fn member_becoming_master_takes_the_group_to_master_once() {
    let mut rs = [
        started(cfg(Version::V3, 100, 11), at(0)),
        started(cfg(Version::V3, 90, 11), at(0)),
    ];
    let mut g = SyncGroup::new([0usize, 1, 1]);
    assert_eq!(g.members(), &[0, 1]);
    rs[0].handle_timeout(at(3_609_375));
    let mut cmds = Vec::new();
    for a in drain(&mut rs[0]) {
        cmds.extend(g.on_action(&0, &a));
    }
    assert_eq!(cmds, vec![(1, Input::Sync(SyncCommand::Master))]);
    rs[1].handle_input(at(3_609_375), Input::Sync(SyncCommand::Master));
    let follow: Vec<_> = drain(&mut rs[1])
        .iter()
        .flat_map(|a| g.on_action(&1, a))
        .collect();
    assert_eq!(follow, vec![]);
    assert_eq!(rs[1].state(), State::Master);
}

// Sync commands only act in the state they target: Backup/Master commands are ignored elsewhere
// and a repeated fault command changes nothing.
#[test]
fn sync_commands_are_ignored_outside_their_target_state() {
    let mut r = started(cfg(Version::V3, 100, 11), at(0));
    r.handle_input(at(1), Input::Sync(SyncCommand::Backup));
    assert_eq!((r.state(), drain(&mut r)), (State::Backup, vec![]));
    r.handle_input(at(2), Input::Sync(SyncCommand::ClearFault));
    assert_eq!((r.state(), drain(&mut r)), (State::Backup, vec![]));
    r.handle_input(at(3), Input::Sync(SyncCommand::Fault));
    r.handle_input(at(4), Input::Sync(SyncCommand::Fault));
    assert_eq!(drain(&mut r).len(), 2); // StateChanged + SetRole(Inactive), once
    r.handle_input(at(5), Input::Sync(SyncCommand::Master));
    assert_eq!((r.state(), drain(&mut r)), (State::Fault, vec![]));
}
