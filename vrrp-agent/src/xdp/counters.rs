//! The data plane's counters as user space sees them: the per-CPU slots of map `COUNTERS`
//! summed over CPUs, one `u64` per [`Counter`].

use vrrp_common::stats::Counter;

/// A snapshot of every counter, summed over CPUs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counters {
    values: [u64; Counter::COUNT],
}

impl Default for Counters {
    fn default() -> Self {
        Self {
            values: [0; Counter::COUNT],
        }
    }
}

impl Counters {
    /// Builds a snapshot from per-slot sums, in [`Counter::ALL`] order.
    pub fn from_values(values: [u64; Counter::COUNT]) -> Self {
        Self { values }
    }

    /// The value of one counter.
    pub fn get(&self, c: Counter) -> u64 {
        self.values.get(c as usize).copied().unwrap_or(0)
    }

    /// Every counter with its value, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Counter, u64)> + '_ {
        Counter::ALL.iter().map(|c| (*c, self.get(*c)))
    }

    /// What changed since `before`: each counter's increase (saturating at 0).
    pub fn delta(&self, before: &Counters) -> Counters {
        let mut values = [0; Counter::COUNT];
        for (i, v) in values.iter_mut().enumerate() {
            *v = self.values[i].saturating_sub(before.values[i]);
        }
        Counters { values }
    }

    /// The counters that are not zero, for compact comparisons and output.
    pub fn nonzero(&self) -> Vec<(Counter, u64)> {
        self.iter().filter(|(_, v)| *v != 0).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_subtracts_per_counter_and_nonzero_lists_changes() {
        let mut a = [0; Counter::COUNT];
        a[Counter::ArpReplied as usize] = 5;
        a[Counter::PassOther as usize] = 2;
        let mut b = a;
        b[Counter::ArpReplied as usize] = 7;
        let d = Counters::from_values(b).delta(&Counters::from_values(a));
        assert_eq!(d.nonzero(), vec![(Counter::ArpReplied, 2)]);
        assert_eq!(d.get(Counter::PassOther), 0);
    }
}
