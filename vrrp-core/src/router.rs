//! `VirtualRouter`: the RFC 5798 §6.4 state machine (plus RFC 3768 v2 rules and keepalived's FAULT).
//!
//! Inputs are pushed with `now` ([`VirtualRouter::handle_input`], [`VirtualRouter::handle_timeout`]);
//! outputs are pulled ([`VirtualRouter::poll_action`], [`VirtualRouter::poll_timeout`]). The two
//! RFC timers (Adver_Timer, Master_Down_Timer, RFC 5798 §6.2) are plain deadlines. Every side
//! effect of a state change is in `VirtualRouter::transition`, matched on (old, new) state.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use crate::action::{Action, Counters, Reason, Transition, Warning};
use crate::config::{ConfigError, RouterConfig};
use crate::input::{Input, ReceivedAdvert, SyncCommand};
use crate::time::{Centis, Instant};
use crate::timing;
use crate::types::{PRIORITY_OWNER, PRIORITY_STOP, Role, State, Version};

/// Why the running Master_Down_Timer was last armed or left running; picks the [`Reason`]
/// reported when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DownCause {
    /// Armed by Startup or by an accepted advert.
    Silence,
    /// Set to Skew_Time by a priority-0 advert (RFC 5798 §6.4.2).
    PriorityZero,
    /// A lower-priority advert was discarded since (RFC 5798 §6.4.2 preemption).
    Preempting,
}

/// One virtual router: one (interface, VRID, address family) instance of RFC 5798.
#[derive(Clone, Debug)]
pub struct VirtualRouter {
    cfg: RouterConfig,
    state: State,
    /// Between Startup and Shutdown.
    started: bool,
    link_down: bool,
    forced_fault: bool,
    sync_fault: bool,
    track_weight: i32,
    effective_priority: u8,
    master_adver_interval: Centis,
    master_address: Option<IpAddr>,
    adver_timer: Option<Instant>,
    master_down_timer: Option<Instant>,
    down_cause: DownCause,
    /// keepalived `preempt_delay`: no preemption before this instant.
    preempt_allowed_at: Instant,
    last_transition: Option<Transition>,
    actions: VecDeque<Action>,
    counters: Counters,
}

impl VirtualRouter {
    /// Creates a router in Initialize (RFC 5798 §6.4.1), waiting for [`Input::Startup`].
    ///
    /// # Errors
    /// The configuration is invalid ([`RouterConfig::validate`]).
    pub fn new(cfg: RouterConfig) -> Result<Self, ConfigError> {
        cfg.validate()?;
        let effective_priority = cfg.priority;
        let master_adver_interval = cfg.advert_interval;
        Ok(VirtualRouter {
            cfg,
            state: State::Initialize,
            started: false,
            link_down: false,
            forced_fault: false,
            sync_fault: false,
            track_weight: 0,
            effective_priority,
            master_adver_interval,
            master_address: None,
            adver_timer: None,
            master_down_timer: None,
            down_cause: DownCause::Silence,
            preempt_allowed_at: Instant::ZERO,
            last_transition: None,
            actions: VecDeque::new(),
            counters: Counters::default(),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &RouterConfig {
        &self.cfg
    }

    /// Current state.
    #[must_use]
    pub fn state(&self) -> State {
        self.state
    }

    /// Effective priority: configured + tracking weights, clamped to 1..=254; 255 for the owner.
    #[must_use]
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    /// The current Master's primary address as learned from its adverts (our own when Master;
    /// `None` before any advert and after the Master resigned with priority 0).
    #[must_use]
    pub fn master_address(&self) -> Option<IpAddr> {
        self.master_address
    }

    /// Master_Adver_Interval (RFC 5798 §6.1): learned from the Master's adverts in v3 Backup
    /// state (§6.4.2); our own Advertisement_Interval otherwise.
    #[must_use]
    pub fn master_adver_interval(&self) -> Centis {
        self.master_adver_interval
    }

    /// Skew_Time for the current effective priority and Master_Adver_Interval (RFC 5798 §6.1).
    #[must_use]
    pub fn skew_time(&self) -> Duration {
        timing::skew_time(
            self.cfg.version,
            self.effective_priority,
            self.master_adver_interval,
        )
    }

    /// Master_Down_Interval for the current effective priority and Master_Adver_Interval
    /// (RFC 5798 §6.1).
    #[must_use]
    pub fn master_down_interval(&self) -> Duration {
        timing::master_down_interval(
            self.cfg.version,
            self.effective_priority,
            self.master_adver_interval,
        )
    }

    /// The last state change, if any.
    #[must_use]
    pub fn last_transition(&self) -> Option<&Transition> {
        self.last_transition.as_ref()
    }

    /// Event counters.
    #[must_use]
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Whether the data plane should accept packets addressed to the VIPs: Master with
    /// Accept_Mode, or the owner (RFC 5798 §6.1, §6.4.3).
    #[must_use]
    pub fn accepts_vip_traffic(&self) -> bool {
        self.state == State::Master && (self.cfg.accept_mode || self.cfg.is_owner())
    }

    /// The next deadline at which [`VirtualRouter::handle_timeout`] must be called, if any.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match (self.adver_timer, self.master_down_timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next queued action, oldest first. Drain after every `handle_*` call.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Feeds one event at time `now` (monotonic, never earlier than a previous `now`).
    pub fn handle_input(&mut self, now: Instant, input: Input) {
        match input {
            Input::Startup => self.startup(now),
            Input::Shutdown => self.shutdown(now),
            Input::Advert(advert) => self.on_advert(now, &advert),
            Input::InterfaceDown => self.set_fault_flag(now, Fault::Link, true),
            Input::InterfaceUp => self.set_fault_flag(now, Fault::Link, false),
            Input::ForceFault => self.set_fault_flag(now, Fault::Forced, true),
            Input::ClearFault => self.set_fault_flag(now, Fault::Forced, false),
            Input::Sync(SyncCommand::Fault) => self.set_fault_flag(now, Fault::Sync, true),
            Input::Sync(SyncCommand::ClearFault) => self.set_fault_flag(now, Fault::Sync, false),
            Input::Sync(SyncCommand::Backup) => {
                if self.state == State::Master {
                    self.yield_to_backup(now, None, Reason::SyncGroup(SyncCommand::Backup));
                }
            }
            Input::Sync(SyncCommand::Master) => {
                if self.state == State::Backup {
                    self.become_master(now, Reason::SyncGroup(SyncCommand::Master));
                }
            }
            Input::TrackWeight(total) => self.set_track_weight(now, total),
        }
    }

    /// Fires every timer whose deadline is at or before `now`. Call it at (or after)
    /// [`VirtualRouter::poll_timeout`]; calling it early is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(deadline) = self.adver_timer
            && deadline <= now
        {
            // RFC 5798 §6.4.3: "If the Adver_Timer fires: Send an ADVERTISEMENT; Reset the
            // Adver_Timer to Advertisement_Interval". We reset from the deadline, not from `now`,
            // so a late caller does not drift (keepalived drifts ~0.2 ms per cycle); a caller more
            // than one interval late restarts from `now` rather than bursting.
            self.send_advert(self.effective_priority);
            let next = deadline + self.cfg.advert_interval.as_duration();
            self.adver_timer = Some(if next > now {
                next
            } else {
                now + self.cfg.advert_interval.as_duration()
            });
        }
        if let Some(deadline) = self.master_down_timer
            && deadline <= now
        {
            self.master_down_timer = None;
            if self.state == State::Backup {
                // RFC 5798 §6.4.2: "If the Master_Down_Timer fires: ... transition to Master".
                let reason = match self.down_cause {
                    DownCause::Silence => Reason::MasterDownTimerExpired,
                    DownCause::PriorityZero => Reason::PriorityZeroReceived,
                    DownCause::Preempting => Reason::Preempted,
                };
                self.become_master(now, reason);
            }
        }
    }

    // ---- events -------------------------------------------------------------------------

    fn startup(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        if let Some(reason) = self.own_fault_reason().or(self
            .sync_fault
            .then_some(Reason::SyncGroup(SyncCommand::Fault)))
        {
            self.transition(now, State::Fault, reason);
        } else {
            self.initialize(now, Reason::Startup);
        }
    }

    /// RFC 5798 §6.4.1 "If a Startup event is received": also used on leaving Fault, which
    /// re-enters the protocol as a Startup would (keepalived re-runs its init on link up).
    fn initialize(&mut self, now: Instant, reason: Reason) {
        self.preempt_allowed_at = now + self.cfg.preempt_delay;
        if self.effective_priority == PRIORITY_OWNER {
            // §6.4.1: the owner sends an advert, announces, arms Adver_Timer, becomes Master.
            let reason = if reason == Reason::Startup {
                Reason::OwnerStartup
            } else {
                reason
            };
            self.become_master(now, reason);
        } else {
            // §6.4.1: Master_Adver_Interval = Advertisement_Interval; Master_Down_Timer =
            // Master_Down_Interval; transition to Backup.
            self.master_adver_interval = self.cfg.advert_interval;
            self.master_address = None;
            self.arm_master_down(now, DownCause::Silence);
            self.transition(now, State::Backup, reason);
        }
    }

    fn shutdown(&mut self, now: Instant) {
        if !self.started {
            return;
        }
        self.started = false;
        // §6.4.2 / §6.4.3 "If a Shutdown event is received": cancel the timers, a Master sends
        // a priority-0 advert (in `transition`), then go to Initialize.
        if self.state != State::Initialize {
            self.transition(now, State::Initialize, Reason::Shutdown);
        }
    }

    fn on_advert(&mut self, now: Instant, ad: &ReceivedAdvert) {
        self.counters.adverts_received += 1;
        if !self.started || matches!(self.state, State::Initialize | State::Fault) {
            // Neither §6.4.1 nor keepalived's FAULT processes adverts.
            self.discard();
            return;
        }
        if !self.accept_advert_checks(ad) {
            self.discard();
            return;
        }
        if ad.priority == PRIORITY_STOP {
            self.counters.priority_zero_received += 1;
        }
        match self.state {
            State::Backup => self.backup_on_advert(now, ad),
            State::Master => self.master_on_advert(now, ad),
            State::Initialize | State::Fault => self.discard(),
        }
    }

    /// RFC 5798 §7.1 / RFC 3768 §7.1 checks the packet codec cannot do. Returns whether the
    /// advert may be processed.
    fn accept_advert_checks(&mut self, ad: &ReceivedAdvert) -> bool {
        if ad.version != self.cfg.version {
            // §7.1: "MUST verify that the VRRP version is 3" (RFC 3768: 2). §8.4 mixed mode is
            // not implemented.
            self.counters.version_mismatch += 1;
            self.warn(Warning::VersionMismatch {
                src: ad.src,
                received: ad.version,
            });
            return false;
        }
        if ad.src.is_ipv4() != self.cfg.primary_address.is_ipv4() {
            self.counters.version_mismatch += 1;
            self.warn(Warning::FamilyMismatch { src: ad.src });
            return false;
        }
        if ad.src == self.cfg.primary_address {
            self.warn(Warning::OwnAddress { src: ad.src });
            return false;
        }
        if self.cfg.version == Version::V2 && ad.max_adver_int != self.cfg.advert_interval {
            // RFC 3768 §7.1: "MUST verify that the Adver Interval in the packet is the same as
            // the locally configured for this virtual router. If the above check fails, the
            // receiver MUST discard the packet, SHOULD log the event".
            self.counters.interval_mismatch += 1;
            self.warn(Warning::AdvertIntervalMismatch {
                src: ad.src,
                received: ad.max_adver_int,
                configured: self.cfg.advert_interval,
            });
            return false;
        }
        if self.cfg.check_address_list
            && !same_address_set(&ad.addresses, &self.cfg.virtual_addresses)
        {
            // RFC 5798 §7.1 (RFC 3768 §7.1 alike): "MAY verify that the IPvX address(es)
            // associated with the VRID are valid. If the above check fails, the receiver SHOULD
            // log the event ... If the packet was not generated by the address owner (Priority
            // does not equal 255 (decimal)), the receiver MUST drop the packet, otherwise
            // continue processing."
            self.counters.address_list_mismatch += 1;
            let dropped = ad.priority != PRIORITY_OWNER;
            self.warn(Warning::AddressListMismatch {
                src: ad.src,
                priority: ad.priority,
                dropped,
            });
            if dropped {
                return false;
            }
        }
        if self.cfg.is_owner() {
            // RFC 5798 §7.1 says an owner discards every advert; RFC 9568 errata 8298 (verified)
            // makes it "log and process", so two misconfigured owners settle by address (§6.4.3).
            self.warn(Warning::AdvertReceivedByOwner {
                src: ad.src,
                priority: ad.priority,
            });
        }
        true
    }

    /// RFC 5798 §6.4.2 "If an ADVERTISEMENT is received" in Backup.
    fn backup_on_advert(&mut self, now: Instant, ad: &ReceivedAdvert) {
        if ad.priority == PRIORITY_STOP {
            // §6.4.2: "If the Priority in the ADVERTISEMENT is zero, then: Set the
            // Master_Down_Timer to Skew_Time".
            self.master_address = None;
            self.master_down_timer = Some(now + self.skew_time());
            self.down_cause = DownCause::PriorityZero;
            return;
        }
        let preempt_now = self.cfg.preempt && now >= self.preempt_allowed_at;
        if !preempt_now || ad.priority >= self.effective_priority {
            // §6.4.2: "If Preempt_Mode is False, or if the Priority in the ADVERTISEMENT is
            // greater than or equal to the local Priority, then: Set Master_Adver_Interval to
            // Adver Interval contained in the ADVERTISEMENT; Recompute the Master_Down_Interval;
            // Reset the Master_Down_Timer to Master_Down_Interval". RFC 3768 §6.4.2 (v2) has no
            // learning: the interval was already checked equal to ours.
            // keepalived preempt_delay: inside the delay we behave as if Preempt_Mode were false.
            if self.cfg.version == Version::V3 {
                self.master_adver_interval = ad.max_adver_int;
            }
            self.master_address = Some(ad.src);
            self.arm_master_down(now, DownCause::Silence);
        } else {
            // §6.4.2: "Otherwise: Discard the ADVERTISEMENT" — the timer keeps running and we
            // preempt when it fires.
            self.down_cause = DownCause::Preempting;
            self.discard();
        }
    }

    /// RFC 5798 §6.4.3 "If an ADVERTISEMENT is received" in Master.
    fn master_on_advert(&mut self, now: Instant, ad: &ReceivedAdvert) {
        if ad.priority == PRIORITY_STOP {
            // §6.4.3: "If the Priority in the ADVERTISEMENT is zero, then: Send an
            // ADVERTISEMENT; Reset the Adver_Timer to Advertisement_Interval".
            self.send_advert_and_reset_timer(now);
            return;
        }
        let higher = ad.priority > self.effective_priority;
        let tie_won_by_sender = ad.priority == self.effective_priority
            && address_greater(ad.src, self.cfg.primary_address);
        if higher || tie_won_by_sender {
            // §6.4.3: "If the Priority in the ADVERTISEMENT is greater than the local Priority,
            // or the Priority in the ADVERTISEMENT is equal to the local Priority and the primary
            // IPvX Address of the sender is greater than the local primary IPvX Address, then:
            // Cancel Adver_Timer; Set Master_Adver_Interval to Adver Interval contained in the
            // ADVERTISEMENT; Recompute the Skew_Time; Recompute the Master_Down_Interval; Set
            // Master_Down_Timer to Master_Down_Interval; Transition to the Backup state".
            if self.cfg.advert_before_yielding {
                // keepalived higher_prio_send_advert.
                self.send_advert(self.effective_priority);
            }
            let reason = if higher {
                Reason::HigherPriorityAdvert
            } else {
                Reason::EqualPriorityHigherAddress
            };
            self.yield_to_backup(now, Some(ad), reason);
        } else {
            // §6.4.3: "Otherwise (i.e., the Priority is lower, or equal with a lower address):
            // Discard the ADVERTISEMENT". keepalived (lower_prio_no_advert off) re-asserts at
            // once so the other router learns of us without waiting an interval.
            self.discard();
            if self.cfg.reassert_on_lower_priority {
                self.send_advert_and_reset_timer(now);
            }
        }
    }

    fn set_track_weight(&mut self, now: Instant, total: i32) {
        self.track_weight = total;
        let new = if self.cfg.is_owner() {
            // RFC 5798 §5.2.4: the owner's priority is 255; keepalived ignores weights on owners.
            PRIORITY_OWNER
        } else {
            // Backups use 1..=254 (RFC 5798 §5.2.4), so the sum is clamped there.
            let sum = i64::from(self.cfg.priority) + i64::from(total);
            u8::try_from(sum.clamp(1, 254)).unwrap_or(1)
        };
        if new == self.effective_priority {
            return;
        }
        self.effective_priority = new;
        if self.state == State::Master {
            // keepalived advertises a priority change at once; peers then preempt if they must.
            self.send_advert_and_reset_timer(now);
        }
        // In Backup the new priority changes Skew_Time and the preemption comparison from the
        // next advert on (§6.4.2); the running Master_Down_Timer is left as armed.
    }

    fn set_fault_flag(&mut self, now: Instant, which: Fault, on: bool) {
        let own_before = self.own_fault_reason().is_some();
        let any_before = own_before || self.sync_fault;
        let flag = match which {
            Fault::Link => &mut self.link_down,
            Fault::Forced => &mut self.forced_fault,
            Fault::Sync => &mut self.sync_fault,
        };
        if *flag == on {
            return;
        }
        *flag = on;
        if !self.started {
            return; // remembered for Startup
        }
        let own_after = self.own_fault_reason().is_some();
        let any_after = own_after || self.sync_fault;
        let reason = match (which, on) {
            (Fault::Link, true) => Reason::LinkDown,
            (Fault::Link, false) => Reason::LinkUp,
            (Fault::Forced, true) => Reason::ForcedFault,
            (Fault::Forced, false) => Reason::FaultCleared,
            (Fault::Sync, true) => Reason::SyncGroup(SyncCommand::Fault),
            (Fault::Sync, false) => Reason::SyncGroup(SyncCommand::ClearFault),
        };
        if !any_before && any_after {
            self.transition(now, State::Fault, reason);
        } else if any_before && !any_after {
            self.initialize(now, reason);
        } else if self.state == State::Fault && own_before != own_after {
            // Still in Fault, but whether the fault is our own changed: report it so a
            // SyncGroup can tell a member's own fault from one the group imposed.
            self.transition(now, State::Fault, reason);
        }
    }

    fn own_fault_reason(&self) -> Option<Reason> {
        if self.link_down {
            Some(Reason::LinkDown)
        } else if self.forced_fault {
            Some(Reason::ForcedFault)
        } else {
            None
        }
    }

    // ---- helpers ------------------------------------------------------------------------

    fn become_master(&mut self, now: Instant, reason: Reason) {
        // RFC 5798 §6.4.1 / §6.4.2: send an advert, announce, Adver_Timer =
        // Advertisement_Interval, transition to Master (the sends are in `transition`).
        self.master_down_timer = None;
        self.master_adver_interval = self.cfg.advert_interval;
        self.master_address = Some(self.cfg.primary_address);
        self.adver_timer = Some(now + self.cfg.advert_interval.as_duration());
        self.counters.became_master += 1;
        self.transition(now, State::Master, reason);
    }

    fn yield_to_backup(&mut self, now: Instant, ad: Option<&ReceivedAdvert>, reason: Reason) {
        self.adver_timer = None;
        if let Some(ad) = ad {
            if self.cfg.version == Version::V3 {
                self.master_adver_interval = ad.max_adver_int;
            }
            self.master_address = Some(ad.src);
        } else {
            self.master_address = None;
        }
        self.arm_master_down(now, DownCause::Silence);
        self.transition(now, State::Backup, reason);
    }

    fn arm_master_down(&mut self, now: Instant, cause: DownCause) {
        self.master_down_timer = Some(now + self.master_down_interval());
        self.down_cause = cause;
    }

    fn send_advert_and_reset_timer(&mut self, now: Instant) {
        self.send_advert(self.effective_priority);
        self.adver_timer = Some(now + self.cfg.advert_interval.as_duration());
    }

    fn send_advert(&mut self, priority: u8) {
        self.counters.adverts_sent += 1;
        if priority == PRIORITY_STOP {
            self.counters.priority_zero_sent += 1;
        }
        self.actions.push_back(Action::SendAdvert { priority });
    }

    fn warn(&mut self, w: Warning) {
        self.actions.push_back(Action::Warning(w));
    }

    fn discard(&mut self) {
        self.counters.adverts_discarded += 1;
    }

    /// Records a state change and emits every side effect, matched on (old, new).
    fn transition(&mut self, now: Instant, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        let t = Transition {
            from,
            to,
            reason,
            at: now,
        };
        self.last_transition = Some(t);
        self.actions.push_back(Action::StateChanged(t));
        if to != State::Master {
            self.adver_timer = None;
        }
        if to != State::Backup {
            self.master_down_timer = None;
        }
        match (from, to) {
            (State::Master, State::Master) | (State::Backup, State::Backup) => {}
            (_, State::Master) => {
                // RFC 5798 §6.4.1 / §6.4.2: take the addresses, send an advert, then gratuitous
                // ARP (RFC 826) / unsolicited NA (RFC 4861 §7.2.6) for each VIP.
                let accept = self.cfg.accept_mode || self.cfg.is_owner();
                self.actions
                    .push_back(Action::SetRole(crate::types::Role::Master { accept }));
                self.actions.push_back(Action::AddVips);
                self.send_advert(self.effective_priority);
                self.actions.push_back(Action::Announce);
            }
            (State::Master, State::Backup) => {
                // RFC 5798 §6.4.2: a Backup must not answer for or accept the VIPs.
                self.actions.push_back(Action::SetRole(Role::Backup));
                self.actions.push_back(Action::RemoveVips);
            }
            (State::Master, State::Initialize | State::Fault) => {
                // RFC 5798 §6.4.3 Shutdown: "Send an ADVERTISEMENT with Priority = 0". Also on a
                // forced fault while the link is up (keepalived does), so Backups take over after
                // Skew_Time instead of Master_Down_Interval. Not when the link is down.
                if !self.link_down {
                    self.send_advert(PRIORITY_STOP);
                }
                self.actions.push_back(Action::SetRole(Role::Inactive));
                self.actions.push_back(Action::RemoveVips);
            }
            (State::Initialize | State::Fault, State::Backup) => {
                self.actions.push_back(Action::SetRole(Role::Backup));
            }
            (State::Backup, State::Initialize | State::Fault) => {
                self.actions.push_back(Action::SetRole(Role::Inactive));
            }
            (State::Initialize | State::Fault, State::Initialize | State::Fault) => {}
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    Link,
    Forced,
    Sync,
}

/// RFC 5798 §6.4.3: "the primary IPvX Address of the sender is greater than the local primary
/// IPvX Address", compared as unsigned integers in network byte order. Different families never
/// compare greater.
#[must_use]
pub fn address_greater(sender: IpAddr, local: IpAddr) -> bool {
    match (sender, local) {
        (IpAddr::V4(s), IpAddr::V4(l)) => {
            u32::from_be_bytes(s.octets()) > u32::from_be_bytes(l.octets())
        }
        (IpAddr::V6(s), IpAddr::V6(l)) => {
            u128::from_be_bytes(s.octets()) > u128::from_be_bytes(l.octets())
        }
        _ => false,
    }
}

/// Set equality of two address lists (order and duplicates ignored; RFC 5798 §5.2.9 fixes no
/// order).
fn same_address_set(a: &[IpAddr], b: &[IpAddr]) -> bool {
    a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}
