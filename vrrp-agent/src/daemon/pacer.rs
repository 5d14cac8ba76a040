//! Transmit pacing: the frames queued in one turn of the event loop (for every interface) leave
//! in chunks on a fixed slot grid anchored at that turn, instead of as one long burst. Pure: time
//! comes in as an argument, so the schedule is unit-tested to the microsecond.
//!
//! Why: on a software LAN (veth, bridge, generic XDP on the peers; also virtio NICs) each frame
//! costs the sender about 10 µs, because the receivers' softirq work runs inside its `sendmmsg`.
//! A burst of 255 adverts then lasts 2.5 ms, and its length varies from cycle to cycle (sd
//! 0.7 ms measured for the last frame), so the late VRIDs of a burst saw advert gaps of 12 ms at
//! p99 against a 10 ms interval, although the burst itself started within 0.2 ms of its deadline.
//! In chunks of [`CHUNK`] frames, [`SLOT`] apart, a frame's offset from its deadline is the same
//! every cycle (its slot) up to the jitter of its chunk alone, which is what a Backup's
//! Master_Down_Timer sees (RFC 5798 §6.4.2: any advert from the Master resets it). One pacer
//! serves every interface: the cost of a frame is the machine's, whichever port it leaves by.
//!
//! Bounds: a burst is spread over at most `max_spread` (the daemon sets half the shortest advert
//! interval configured: 5 ms at 10 ms adverts, RFC 5798 §5.2.7); a larger burst takes larger
//! chunks. Up to [`CHUNK`] frames, nothing changes: they leave in the turn that queued them, one
//! `sendmmsg` per interface. A loop a whole slot behind the grid is overloaded and sends all at
//! once. Frames that must not wait (the priority-0 advert of a stopping instance, §6.4.3) are
//! flushed with [`Pacer::drain`].

use std::collections::VecDeque;
use std::time::Duration;

use vrrp_core::Instant;

/// Frames per slot (at least).
pub const CHUNK: usize = 32;
/// Time between the starts of two slots of a burst: above the measured p99 time of a chunk on
/// this kind of LAN (32 × ~10 µs, sd ~0.1 ms), so one slot rarely runs into the next.
pub const SLOT: Duration = Duration::from_micros(500);
/// The spread bound before the daemon sets one (10 ms adverts).
pub const DEFAULT_SPREAD: Duration = Duration::from_millis(5);

/// A FIFO of frames with the time its next chunk is due.
#[derive(Debug)]
pub struct Pacer<T> {
    queue: VecDeque<T>,
    /// When the next chunk may leave; `None` when no burst is in progress.
    next: Option<Instant>,
    /// Frames per slot of the burst in progress.
    chunk: usize,
    /// Slots per burst, at most.
    max_slots: usize,
}

impl<T> Default for Pacer<T> {
    fn default() -> Self {
        let mut p = Pacer {
            queue: VecDeque::new(),
            next: None,
            chunk: CHUNK,
            max_slots: 1,
        };
        p.set_max_spread(DEFAULT_SPREAD);
        p
    }
}

impl<T> Pacer<T> {
    /// The last chunk of a burst leaves at most `spread` after the first (rounded down to the
    /// slot grid; at least one slot).
    pub fn set_max_spread(&mut self, spread: Duration) {
        let slots = spread.as_micros() / SLOT.as_micros();
        self.max_slots = usize::try_from(slots)
            .unwrap_or(usize::MAX)
            .clamp(1, 10_000);
    }

    /// Queues a frame behind the others.
    pub fn push(&mut self, item: T) {
        self.queue.push_back(item);
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// When the loop must wake to send the next chunk (`None`: nothing is waiting for a slot;
    /// frames queued in this turn are taken by [`Pacer::take_due`] at the turn's end).
    pub fn next_due(&self) -> Option<Instant> {
        self.next.filter(|_| !self.queue.is_empty())
    }

    /// The frames to send now: the first chunk of a new burst at once, later chunks when their
    /// slot has come (slot `k` of a burst starting at `t0` is due at `t0 + k × SLOT`; a slightly
    /// late slot does not move the ones after it, so a burst keeps its grid). A loop that is a
    /// whole slot or more behind the grid is overloaded: pacing would only make the queue older,
    /// so everything queued leaves at once, as without pacing.
    pub fn take_due(&mut self, now: Instant) -> Vec<T> {
        if self.queue.is_empty() {
            self.next = None;
            return Vec::new();
        }
        let slot = match self.next {
            None => {
                self.chunk = CHUNK;
                now
            }
            Some(t) if now >= t + SLOT => {
                self.next = None;
                return self.queue.drain(..).collect();
            }
            Some(t) if t <= now => t,
            Some(_) => return Vec::new(),
        };
        // Chunks large enough that what is queued fits in the slots allowed.
        self.chunk = self.chunk.max(self.queue.len().div_ceil(self.max_slots));
        let n = self.chunk.min(self.queue.len());
        let out: Vec<T> = self.queue.drain(..n).collect();
        self.next = if self.queue.is_empty() {
            None
        } else {
            Some(slot + SLOT)
        };
        out
    }

    /// Everything queued, at once (shutdown, reload: nothing may wait).
    pub fn drain(&mut self) -> Vec<T> {
        self.next = None;
        self.queue.drain(..).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(us: u64) -> Instant {
        Instant::from_micros(us)
    }

    #[test]
    fn a_small_batch_leaves_in_the_turn_that_queued_it() {
        let mut p = Pacer::default();
        for i in 0..CHUNK {
            p.push(i);
        }
        assert_eq!(p.take_due(at(1_000)), (0..CHUNK).collect::<Vec<_>>());
        assert_eq!(p.next_due(), None);
        assert!(p.is_empty());
    }

    #[test]
    fn a_burst_of_255_leaves_in_8_chunks_on_a_500_us_grid() {
        let mut p = Pacer::default();
        p.set_max_spread(Duration::from_millis(4));
        for i in 0..255 {
            p.push(i);
        }
        let t0 = 10_000;
        let mut sent = Vec::new();
        let mut slots = Vec::new();
        // The loop wakes a little late for each slot: the grid does not move.
        let mut now = t0;
        loop {
            let c = p.take_due(at(now));
            assert!(!c.is_empty(), "woken at {now} for nothing");
            slots.push((now, c.len()));
            sent.extend(c);
            match p.next_due() {
                Some(t) => now = t.as_micros() + 37,
                None => break,
            }
        }
        assert_eq!(sent, (0..255).collect::<Vec<_>>());
        assert_eq!(slots.len(), 8);
        for (k, &(t, n)) in slots.iter().enumerate() {
            let due = t0 + k as u64 * 500;
            assert_eq!(t, if k == 0 { due } else { due + 37 }, "slot {k}");
            assert_eq!(n, if k < 7 { 32 } else { 255 - 7 * 32 }, "slot {k}");
        }
    }

    #[test]
    fn nothing_leaves_before_its_slot() {
        let mut p = Pacer::default();
        for i in 0..40 {
            p.push(i);
        }
        assert_eq!(p.take_due(at(0)).len(), 32);
        assert_eq!(p.next_due(), Some(at(500)));
        assert!(p.take_due(at(499)).is_empty());
        assert_eq!(p.take_due(at(500)), (32..40).collect::<Vec<_>>());
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn a_larger_burst_takes_larger_chunks_to_stay_within_the_spread() {
        let mut p = Pacer::default();
        p.set_max_spread(Duration::from_micros(4_200));
        for i in 0..1000 {
            p.push(i);
        }
        let mut now = 0;
        let mut n = 0;
        let mut chunks = 0;
        loop {
            n += p.take_due(at(now)).len();
            chunks += 1;
            match p.next_due() {
                Some(t) => now = t.as_micros(),
                None => break,
            }
        }
        // 4.2 ms: 8 slots of 125 frames, the last 3.5 ms after the first.
        assert_eq!((n, chunks), (1000, 8));
        assert_eq!(now, 3_500);
    }

    #[test]
    fn frames_queued_during_a_burst_join_its_tail() {
        let mut p = Pacer::default();
        for i in 0..64 {
            p.push(i);
        }
        assert_eq!(p.take_due(at(0)).len(), 32);
        p.push(64);
        // Woken 0.3 ms late: the next chunk leaves now, the grid stays.
        assert_eq!(p.take_due(at(800)).len(), 32);
        assert_eq!(p.next_due(), Some(at(1_000)));
        assert_eq!(p.take_due(at(1_001)), vec![64]);
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn an_overloaded_loop_sends_everything_at_once() {
        let mut p = Pacer::default();
        for i in 0..200 {
            p.push(i);
        }
        assert_eq!(p.take_due(at(0)).len(), 32);
        for i in 200..300 {
            p.push(i);
        }
        // A whole slot behind the grid (due at 500, now 1,000): no more pacing.
        assert_eq!(p.take_due(at(1_000)), (32..300).collect::<Vec<_>>());
        assert_eq!(p.next_due(), None);
    }

    #[test]
    fn a_queue_that_grows_during_a_burst_takes_larger_chunks() {
        let mut p = Pacer::default();
        p.set_max_spread(Duration::from_millis(4));
        for i in 0..40 {
            p.push(i);
        }
        assert_eq!(p.take_due(at(0)).len(), 32);
        for i in 40..400 {
            p.push(i);
        }
        // 368 queued: chunks of 46 keep the burst within 8 slots.
        assert_eq!(p.take_due(at(500)).len(), 46);
    }

    #[test]
    fn a_long_interval_allows_a_wide_spread() {
        // 1,000 instances at 100 ms adverts: 50 ms allowed, so chunks stay at 32 (32 slots).
        let mut p = Pacer::default();
        p.set_max_spread(Duration::from_millis(50));
        for i in 0..1000 {
            p.push(i);
        }
        let mut now = 0;
        let mut sizes = Vec::new();
        loop {
            sizes.push(p.take_due(at(now)).len());
            match p.next_due() {
                Some(t) => now = t.as_micros(),
                None => break,
            }
        }
        assert_eq!(sizes.len(), 32);
        assert!(sizes[..31].iter().all(|&n| n == 32));
        assert_eq!(now, 31 * 500);
        // A spread below one slot still allows one.
        p.set_max_spread(Duration::from_micros(100));
        assert_eq!(p.max_slots, 1);
    }

    #[test]
    fn drain_sends_everything_and_ends_the_burst() {
        let mut p = Pacer::default();
        for i in 0..100 {
            p.push(i);
        }
        p.take_due(at(0));
        assert_eq!(p.drain().len(), 68);
        assert_eq!(p.next_due(), None);
        // The next frames start a fresh burst at once.
        p.push(1);
        assert_eq!(p.take_due(at(5)), vec![1]);
    }
}
