//! Transmit pacing for one interface: frames queued in one turn of the event loop leave in
//! chunks on a fixed slot grid anchored at the turn, instead of as one long burst. Pure: time
//! comes in as an argument, so the schedule is unit-tested to the microsecond.
//!
//! Why: on a software LAN (veth, bridge, generic XDP on the peers; also virtio NICs) each frame
//! costs the sender about 10 µs, because the receivers' softirq work runs inside its `sendmmsg`.
//! A burst of 255 adverts then lasts 2.5 ms, and its length varies from cycle to cycle (sd
//! 0.7 ms measured for the last frame), so the late VRIDs of a burst saw advert gaps of 12 ms at
//! p99 against a 10 ms interval, although the burst itself started within 0.2 ms of its deadline.
//! In chunks of [`CHUNK`] frames, [`SLOT`] apart, a frame's offset from its deadline is the same
//! every cycle (its slot) up to the jitter of its chunk alone, which is what a Backup's
//! Master_Down_Timer sees (RFC 5798 §6.4.2: any advert from the Master resets it).
//!
//! Bounds: a burst is spread over at most [`MAX_SLOTS`] slots (larger chunks for larger bursts),
//! so its last frame leaves at most `(MAX_SLOTS - 1) × SLOT` = 3.5 ms after the first, under
//! half the shortest VRRPv3 interval (10 ms, §5.2.7). Up to [`CHUNK`] frames, nothing changes:
//! they leave in the turn that queued them, in one `sendmmsg`. Frames that must not wait (the
//! priority-0 advert of a stopping instance, §6.4.3) are flushed with [`Pacer::drain`].

use std::collections::VecDeque;
use std::time::Duration;

use vrrp_core::Instant;

/// Frames per slot (at least).
pub const CHUNK: usize = 32;
/// Time between the starts of two slots of a burst: above the measured p99 time of a chunk on
/// this kind of LAN (32 × ~10 µs, sd ~0.1 ms), so one slot rarely runs into the next.
pub const SLOT: Duration = Duration::from_micros(500);
/// Slots per burst (at most): a burst of more than `CHUNK × MAX_SLOTS` frames takes larger chunks.
pub const MAX_SLOTS: usize = 8;

/// A FIFO of frames with the time its next chunk is due.
#[derive(Debug)]
pub struct Pacer<T> {
    queue: VecDeque<T>,
    /// When the next chunk may leave; `None` when no burst is in progress.
    next: Option<Instant>,
    /// Frames per slot of the burst in progress.
    chunk: usize,
}

impl<T> Default for Pacer<T> {
    fn default() -> Self {
        Pacer {
            queue: VecDeque::new(),
            next: None,
            chunk: CHUNK,
        }
    }
}

impl<T> Pacer<T> {
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
        // Chunks large enough that what is queued fits in MAX_SLOTS slots.
        self.chunk = self.chunk.max(self.queue.len().div_ceil(MAX_SLOTS));
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
        assert_eq!(slots.len(), MAX_SLOTS);
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
    fn a_larger_burst_takes_larger_chunks_to_stay_within_max_slots() {
        let mut p = Pacer::default();
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
        assert_eq!((n, chunks), (1000, MAX_SLOTS));
        assert_eq!(now, (MAX_SLOTS as u64 - 1) * 500);
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
        for i in 0..40 {
            p.push(i);
        }
        assert_eq!(p.take_due(at(0)).len(), 32);
        for i in 40..400 {
            p.push(i);
        }
        // 368 queued: chunks of 46 keep the burst within MAX_SLOTS slots.
        assert_eq!(p.take_due(at(500)).len(), 46);
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
