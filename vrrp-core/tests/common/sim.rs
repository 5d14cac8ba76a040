//! A simulated LAN with virtual time: N `VirtualRouter`s, a bus with loss, delay and partitions,
//! crashes, restarts, link and priority changes; invariants are checked after every step.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Duration;

use vrrp_core::{
    Action, Centis, Input, Instant, ReceivedAdvert, RouterConfig, State, Transition, Version,
    VirtualRouter,
};

/// Master_Down_Interval restated here from RFC 5798 §6.1 / RFC 3768 §6.1, independently of
/// vrrp_core::timing, so the sim checks the crate rather than itself.
pub fn master_down_interval(version: Version, priority: u8, interval: Centis) -> Duration {
    let i = u64::from(interval.get()) * 10_000;
    let skew_base = if version == Version::V3 { i } else { 1_000_000 };
    Duration::from_micros(3 * i + (256 - u64::from(priority)) * skew_base / 256)
}

/// One simulated node.
pub struct Node {
    /// The router under test (replaced by a fresh one on crash).
    pub router: VirtualRouter,
    /// Its configuration (kept to rebuild the router after a crash).
    pub cfg: RouterConfig,
    /// The process runs (false after a crash until restart).
    pub alive: bool,
    /// The interface is up.
    pub link: bool,
    /// Partition id: adverts only reach nodes with the same id.
    pub segment: u8,
    /// Current total tracking weight.
    pub weight: i32,
    /// Latest instant by which this node, if still Backup, must have taken over
    /// (last advert heard or Backup entry + Master_Down_Interval, computed independently).
    pub takeover_bound: Option<Instant>,
}

/// A scheduled scenario event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Split: node i goes to segment `seg[i]`.
    Partition(Vec<u8>),
    /// Everyone back in segment 0.
    Heal,
    /// Loss probability in percent.
    SetLoss(u8),
    /// kill -9: the router vanishes without a priority-0 advert.
    Crash(usize),
    /// Graceful stop (Shutdown event, priority-0 advert from a Master).
    Stop(usize),
    /// (Re)start: a crashed node gets a fresh router; then Startup.
    Start(usize),
    /// Interface down.
    LinkDown(usize),
    /// Interface up.
    LinkUp(usize),
    /// Set the total tracking weight of a node.
    Weight(usize, i32),
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Pending {
    /// Scenario event index.
    Scenario(usize),
    /// Advert delivery: (to, from, priority).
    Deliver {
        to: usize,
        from: usize,
        priority: u8,
    },
}

/// What happened, for assertions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Log {
    /// Node sent an advert with this priority.
    Sent {
        node: usize,
        at: Instant,
        priority: u8,
    },
    /// Node changed state.
    Changed { node: usize, t: Transition },
}

/// The simulated LAN.
pub struct Sim {
    /// Virtual now.
    pub now: Instant,
    /// The nodes.
    pub nodes: Vec<Node>,
    /// One-way delay of every advert.
    pub delay: Duration,
    /// Loss in percent.
    pub loss: u8,
    /// Everything sent and every transition.
    pub log: Vec<Log>,
    /// Time of the last scenario event (network "changed").
    pub last_disturbance: Instant,
    queue: BinaryHeap<Reverse<(Instant, u64, Pending)>>,
    seq: u64,
    rng: u64,
    scenario: Vec<Event>,
    /// The latest state change anywhere (for the "nothing changed" check).
    last_change: Option<(usize, Transition)>,
    /// Number of steps whose invariants were checked in a stable network.
    pub stable_checks: u64,
}

impl Sim {
    /// A LAN of these routers (not started), with a delay and an RNG seed for loss.
    pub fn new(cfgs: Vec<RouterConfig>, delay: Duration, seed: u64) -> Self {
        let nodes = cfgs
            .into_iter()
            .map(|cfg| Node {
                router: VirtualRouter::new(cfg.clone()).expect("sim config is valid"),
                cfg,
                alive: true,
                link: true,
                segment: 0,
                weight: 0,
                takeover_bound: None,
            })
            .collect();
        Sim {
            now: Instant::ZERO,
            nodes,
            delay,
            loss: 0,
            log: Vec::new(),
            last_disturbance: Instant::ZERO,
            queue: BinaryHeap::new(),
            seq: 0,
            rng: seed | 1,
            scenario: Vec::new(),
            last_change: None,
            stable_checks: 0,
        }
    }

    /// Schedules a scenario event.
    pub fn at(&mut self, when: Instant, ev: Event) {
        self.scenario.push(ev);
        let idx = self.scenario.len() - 1;
        self.push(when, Pending::Scenario(idx));
    }

    fn push(&mut self, when: Instant, p: Pending) {
        self.seq += 1;
        self.queue.push(Reverse((when, self.seq, p)));
    }

    fn rand_percent(&mut self) -> u8 {
        // xorshift64*
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        u8::try_from((x >> 32) % 100).unwrap_or(0)
    }

    /// Time it takes a disturbed, loss-free, connected LAN to settle: the longest
    /// Master_Down_Interval (priority 1) plus two rounds of advert + delay (see the crate's
    /// sim_properties test for the argument).
    pub fn settle_time(&self) -> Duration {
        self.nodes
            .iter()
            .map(|n| {
                master_down_interval(n.cfg.version, 1, n.cfg.advert_interval)
                    + 2 * (n.cfg.advert_interval.as_duration() + self.delay)
            })
            .max()
            .unwrap_or(Duration::ZERO)
    }

    /// Runs until `end`, checking invariants after every step. Returns the first violation.
    pub fn run_until(&mut self, end: Instant) -> Result<(), String> {
        let mut same_instant = (Instant::ZERO, 0u32);
        let mut steps = 0u32;
        let mut handled = 0u32;
        loop {
            // A healthy election takes a few steps per advert interval; a storm of adverts
            // (e.g. two Masters re-asserting at each other forever) exhausts this budget.
            steps += 1;
            if steps > 200_000 {
                return Err(format!(
                    "advert storm: over 200000 steps before {}",
                    self.now
                ));
            }
            let next_timer = self
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| n.alive)
                .filter_map(|(i, n)| n.router.poll_timeout().map(|t| (t, i)))
                .min();
            let next_msg = self.queue.peek().map(|Reverse((t, _, _))| *t);
            let t = match (next_timer.map(|x| x.0), next_msg) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(t) => t,
                    None => break,
                },
            };
            if t > end {
                break;
            }
            // An election that keeps exchanging adverts without time passing is a livelock.
            same_instant = if same_instant.0 == t {
                (t, same_instant.1 + 1)
            } else {
                (t, 0)
            };
            if same_instant.1 > 10_000 {
                return Err(format!(
                    "livelock: over 10000 steps at {t} without time passing"
                ));
            }
            self.now = t;
            // Messages and scenario events due now first, in order; then timers.
            while let Some(Reverse((when, _, _))) = self.queue.peek() {
                if *when > t {
                    break;
                }
                let Some(Reverse((_, _, p))) = self.queue.pop() else {
                    break;
                };
                handled += 1;
                if handled > 200_000 {
                    return Err(format!("advert storm: over 200000 deliveries by {t}"));
                }
                match p {
                    Pending::Scenario(idx) => {
                        let ev = self.scenario[idx].clone();
                        self.apply(ev);
                    }
                    Pending::Deliver { to, from, priority } => self.deliver(to, from, priority),
                }
            }
            for i in 0..self.nodes.len() {
                let due = self.nodes[i].alive
                    && self.nodes[i].router.poll_timeout().is_some_and(|d| d <= t);
                if due {
                    let was_backup_deadline = self.nodes[i].router.state() == State::Backup
                        && self.nodes[i].router.poll_timeout() == Some(t);
                    self.nodes[i].router.handle_timeout(t);
                    self.process(i);
                    if was_backup_deadline && self.nodes[i].router.state() != State::Master {
                        return Err(format!(
                            "node {i} Master_Down_Timer fired at {t} but it is not Master"
                        ));
                    }
                }
            }
            self.check()?;
        }
        self.now = end;
        Ok(())
    }

    fn apply(&mut self, ev: Event) {
        self.last_disturbance = self.now;
        let now = self.now;
        match ev {
            Event::Partition(seg) => {
                for (n, s) in self
                    .nodes
                    .iter_mut()
                    .zip(seg.iter().chain(std::iter::repeat(&0)))
                {
                    n.segment = *s;
                }
            }
            Event::Heal => self.nodes.iter_mut().for_each(|n| n.segment = 0),
            Event::SetLoss(p) => self.loss = p.min(100),
            Event::Crash(i) => {
                let n = &mut self.nodes[i];
                n.alive = false;
                n.router = VirtualRouter::new(n.cfg.clone()).expect("valid");
                n.takeover_bound = None;
            }
            Event::Stop(i) => {
                if self.nodes[i].alive {
                    self.nodes[i].router.handle_input(now, Input::Shutdown);
                    self.process(i);
                }
            }
            Event::Start(i) => {
                let n = &mut self.nodes[i];
                n.alive = true;
                if !n.link {
                    n.router.handle_input(now, Input::InterfaceDown);
                }
                n.router.handle_input(now, Input::TrackWeight(n.weight));
                n.router.handle_input(now, Input::Startup);
                self.process(i);
            }
            Event::LinkDown(i) => {
                self.nodes[i].link = false;
                if self.nodes[i].alive {
                    self.nodes[i].router.handle_input(now, Input::InterfaceDown);
                    self.process(i);
                }
            }
            Event::LinkUp(i) => {
                self.nodes[i].link = true;
                if self.nodes[i].alive {
                    self.nodes[i].router.handle_input(now, Input::InterfaceUp);
                    self.process(i);
                }
            }
            Event::Weight(i, w) => {
                self.nodes[i].weight = w;
                if self.nodes[i].alive {
                    self.nodes[i]
                        .router
                        .handle_input(now, Input::TrackWeight(w));
                    self.process(i);
                }
            }
        }
    }

    fn deliver(&mut self, to: usize, from: usize, priority: u8) {
        let now = self.now;
        let (link, alive, seg) = (
            self.nodes[to].link,
            self.nodes[to].alive,
            self.nodes[to].segment,
        );
        if !link || !alive || seg != self.nodes[from].segment {
            return; // a partition or link cut in flight drops the frame
        }
        let src = self.nodes[from].cfg.primary_address;
        let ad = ReceivedAdvert {
            src,
            version: self.nodes[from].cfg.version,
            priority,
            max_adver_int: self.nodes[from].cfg.advert_interval,
            addresses: self.nodes[from].cfg.virtual_addresses.clone(),
        };
        self.nodes[to].router.handle_input(now, Input::Advert(ad));
        self.process(to);
        self.refresh_bound(to);
    }

    /// Independent upper bound on when a Backup must take over: now + Master_Down_Interval from
    /// the timing formulas, for the priority and Master_Adver_Interval in force now.
    fn refresh_bound(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        n.takeover_bound = (n.router.state() == State::Backup).then(|| {
            self.now
                + master_down_interval(
                    n.cfg.version,
                    n.router.effective_priority(),
                    n.router.master_adver_interval(),
                )
        });
    }

    fn process(&mut self, i: usize) {
        let now = self.now;
        let mut entered_backup = false;
        while let Some(a) = self.nodes[i].router.poll_action() {
            match a {
                Action::SendAdvert { priority } => {
                    self.log.push(Log::Sent {
                        node: i,
                        at: now,
                        priority,
                    });
                    if !self.nodes[i].link {
                        continue;
                    }
                    for j in 0..self.nodes.len() {
                        if j == i {
                            continue;
                        }
                        if self.loss > 0 && self.rand_percent() < self.loss {
                            continue;
                        }
                        self.push(
                            now + self.delay,
                            Pending::Deliver {
                                to: j,
                                from: i,
                                priority,
                            },
                        );
                    }
                }
                Action::StateChanged(t) => {
                    entered_backup |= t.to == State::Backup;
                    self.log.push(Log::Changed { node: i, t });
                    self.last_change = Some((i, t));
                }
                _ => {}
            }
        }
        if entered_backup || self.nodes[i].router.state() != State::Backup {
            self.refresh_bound(i);
        }
    }

    /// Nodes taking part in the election right now.
    fn eligible(&self) -> impl Iterator<Item = (usize, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.alive && n.link && n.router.state() != State::Initialize)
    }

    /// The invariants (see the sim_properties test for their statement).
    fn check(&mut self) -> Result<(), String> {
        let now = self.now;
        for (i, n) in self.nodes.iter().enumerate() {
            if n.alive && n.router.state() == State::Backup {
                let deadline = n.router.poll_timeout();
                match (deadline, n.takeover_bound) {
                    (Some(d), Some(b)) if d <= b && d > now => {}
                    (d, b) => {
                        return Err(format!(
                            "node {i} Backup at {now}: deadline {d:?} vs bound {b:?}"
                        ));
                    }
                }
            }
        }
        let connected = self.nodes.iter().all(|n| n.segment == 0);
        let settled = now >= self.last_disturbance + self.settle_time();
        if !(connected && self.loss == 0 && settled) {
            return Ok(());
        }
        self.stable_checks += 1;
        let masters: Vec<usize> = self
            .eligible()
            .filter(|(_, n)| n.router.state() == State::Master)
            .map(|(i, _)| i)
            .collect();
        let any_eligible = self.eligible().next().is_some();
        if any_eligible && masters.len() != 1 {
            return Err(format!(
                "at {now}: {} Masters {masters:?} in a stable LAN",
                masters.len()
            ));
        }
        if let Some(&m) = masters.first()
            && self
                .nodes
                .iter()
                .all(|n| n.cfg.preempt && n.cfg.preempt_delay.is_zero())
        {
            let best = self
                .eligible()
                .map(|(_, n)| n.router.effective_priority())
                .max()
                .unwrap_or(0);
            let mp = self.nodes[m].router.effective_priority();
            if mp != best {
                return Err(format!(
                    "at {now}: Master {m} has priority {mp} but {best} is eligible"
                ));
            }
        }
        // No state change at all while nothing changed.
        let since = self.last_disturbance + self.settle_time();
        if let Some((node, t)) = self.last_change
            && t.at >= since
        {
            return Err(format!("node {node} changed state in a stable LAN: {t:?}"));
        }
        Ok(())
    }

    /// The Master currently elected (alive, link up), if exactly one.
    pub fn sole_master(&self) -> Option<usize> {
        let m: Vec<usize> = self
            .eligible()
            .filter(|(_, n)| n.router.state() == State::Master)
            .map(|(i, _)| i)
            .collect();
        (m.len() == 1).then(|| m[0])
    }

    /// Adverts sent by `node` (time, priority).
    pub fn sent_by(&self, node: usize) -> Vec<(Instant, u8)> {
        self.log
            .iter()
            .filter_map(|l| match l {
                Log::Sent {
                    node: n,
                    at,
                    priority,
                } if *n == node => Some((*at, *priority)),
                _ => None,
            })
            .collect()
    }

    /// Transitions of `node`.
    pub fn transitions_of(&self, node: usize) -> Vec<Transition> {
        self.log
            .iter()
            .filter_map(|l| match l {
                Log::Changed { node: n, t } if *n == node => Some(*t),
                _ => None,
            })
            .collect()
    }
}
