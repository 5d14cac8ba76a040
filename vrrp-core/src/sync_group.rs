//! `SyncGroup`: sans-IO keepalived `vrrp_sync_group` — members that change state together.
//!
//! Semantics (keepalived's, restated; not part of any RFC):
//! - A member entering Fault by its own cause (link down, forced fault) puts every other member
//!   into a group-held Fault ([`SyncCommand::Fault`]). A Master leaving for Fault with its link
//!   up sends a priority-0 advert, so its peers take over after Skew_Time.
//! - When no member has an own fault any more, every member (the last one to recover included)
//!   gets [`SyncCommand::ClearFault`] and re-initializes (RFC 5798 §6.4.1). Commands are
//!   idempotent, so members already in the commanded condition ignore them.
//! - A member going Master → Backup (for any non-group reason) sends [`SyncCommand::Backup`]: the
//!   other Masters become Backup.
//! - A member going Backup → Master sends [`SyncCommand::Master`]: the other Backups become Master
//!   (keepalived does this so that, e.g., both sides of an LVS director move together).
//! - Transitions caused by the group itself (reason [`Reason::SyncGroup`]) are not propagated,
//!   so one event produces one round of commands, never a loop inside the group.
//!
//! Members should have the same priorities and preemption settings on each node, as keepalived
//! requires: with inconsistent priorities the group can flap between nodes, because the members'
//! elections disagree and each disagreement is propagated.

use crate::action::{Action, Reason};
use crate::input::{Input, SyncCommand};
use crate::types::State;

/// A set of virtual routers that change state together. `K` names a member (an index, or the
/// agent's (interface, VRID, family) key).
#[derive(Clone, Debug)]
pub struct SyncGroup<K> {
    members: Vec<K>,
    /// Per member: in Fault by its own cause.
    own_fault: Vec<bool>,
}

impl<K: Clone + PartialEq> SyncGroup<K> {
    /// A group of these members (duplicates are ignored).
    pub fn new(members: impl IntoIterator<Item = K>) -> Self {
        let mut list: Vec<K> = Vec::new();
        for m in members {
            if !list.contains(&m) {
                list.push(m);
            }
        }
        let own_fault = vec![false; list.len()];
        SyncGroup {
            members: list,
            own_fault,
        }
    }

    /// The members, in insertion order.
    #[must_use]
    pub fn members(&self) -> &[K] {
        &self.members
    }

    /// True while some member is in Fault by its own cause (the group is held in Fault).
    #[must_use]
    pub fn is_faulty(&self) -> bool {
        self.own_fault.iter().any(|f| *f)
    }

    /// Feed every action a member's router emitted (only [`Action::StateChanged`] matters);
    /// returns the inputs to deliver to other members, in member order. Deliver them with the
    /// same `now`, then feed their actions back here.
    pub fn on_action(&mut self, member: &K, action: &Action) -> Vec<(K, Input)> {
        let Action::StateChanged(t) = action else {
            return Vec::new();
        };
        let Some(idx) = self.members.iter().position(|m| m == member) else {
            return Vec::new();
        };
        if matches!(t.reason, Reason::SyncGroup(_)) {
            return Vec::new();
        }
        let own_cause = matches!(t.reason, Reason::LinkDown | Reason::ForcedFault);
        if t.to == State::Fault && own_cause {
            // Sent even when the group is already faulty: the member that faulted first was
            // never held by the group, and must now be held by this member's fault.
            // Routers ignore a repeated command.
            self.own_fault[idx] = true;
            return self.to_others(idx, SyncCommand::Fault);
        }
        if t.from == State::Fault && self.own_fault[idx] {
            // Left Fault, or stayed in Fault only because of the group (reason LinkUp /
            // FaultCleared with from == to == Fault).
            self.own_fault[idx] = false;
            // Released to every member, this one included: it may also be held by the group.
            return if self.is_faulty() {
                Vec::new()
            } else {
                self.to_all(SyncCommand::ClearFault)
            };
        }
        match (t.from, t.to) {
            (State::Master, State::Backup) => self.to_others(idx, SyncCommand::Backup),
            (State::Backup, State::Master) => self.to_others(idx, SyncCommand::Master),
            _ => Vec::new(),
        }
    }

    fn to_all(&self, cmd: SyncCommand) -> Vec<(K, Input)> {
        self.members
            .iter()
            .map(|m| (m.clone(), Input::Sync(cmd)))
            .collect()
    }

    fn to_others(&self, idx: usize, cmd: SyncCommand) -> Vec<(K, Input)> {
        self.members
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != idx)
            .map(|(_, m)| (m.clone(), Input::Sync(cmd)))
            .collect()
    }
}
