//! Tracking, keepalived's way: rise/fall hysteresis per track script, and the sum of tracked
//! objects' weights that turns a configured priority into an effective one (or a fault).
//! Pure: the daemon feeds results in and hands the verdict to the election core.

/// Rise/fall hysteresis of one tracked check (keepalived `vrrp_script` rise/fall): it goes down
/// after `fall` consecutive failures and up after `rise` consecutive successes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    up: bool,
    streak: u32,
}

impl RiseFall {
    /// `init_up`: the state before the first result (keepalived starts scripts up unless
    /// `init_fail` is set).
    pub fn new(rise: u32, fall: u32, init_up: bool) -> Self {
        RiseFall {
            rise: rise.max(1),
            fall: fall.max(1),
            up: init_up,
            streak: 0,
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Consecutive successes needed to go up.
    pub fn rise(&self) -> u32 {
        self.rise
    }

    /// Consecutive failures needed to go down.
    pub fn fall(&self) -> u32 {
        self.fall
    }

    /// Records one result; returns `Some(new_state)` when the state flips.
    pub fn record(&mut self, success: bool) -> Option<bool> {
        if success == self.up {
            self.streak = 0;
            return None;
        }
        self.streak += 1;
        let needed = if success { self.rise } else { self.fall };
        if self.streak >= needed {
            self.up = success;
            self.streak = 0;
            Some(success)
        } else {
            None
        }
    }
}

/// The state of one tracked object and how it weighs on the priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tracked {
    /// A script, interface or anything up/down. keepalived: weight > 0 is added while up,
    /// weight < 0 is added while down, weight 0 puts the instance in FAULT while down.
    UpDown { up: bool, weight: i32 },
    /// keepalived `track_file`: the file holds an integer; `value × weight` is added; with weight
    /// 0 a non-zero value means FAULT.
    File { value: i64, weight: i32 },
}

/// What tracking does to an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct TrackVerdict {
    /// Added to the configured priority before clamping (RFC 5798 §5.2.4 range applies later).
    pub delta: i32,
    /// Some weight-0 object is down: the instance must be in FAULT.
    pub fault: bool,
}

/// Sums the weights of `objects`.
pub fn verdict(objects: impl IntoIterator<Item = Tracked>) -> TrackVerdict {
    let mut v = TrackVerdict::default();
    for o in objects {
        match o {
            Tracked::UpDown { up, weight: 0 } => v.fault |= !up,
            Tracked::UpDown { up, weight } => {
                if (weight > 0) == up {
                    v.delta = v.delta.saturating_add(weight);
                }
            }
            Tracked::File { value, weight: 0 } => v.fault |= value != 0,
            Tracked::File { value, weight } => {
                let d = value.saturating_mul(i64::from(weight)).clamp(-254, 254) as i32;
                v.delta = v.delta.saturating_add(d);
            }
        }
    }
    v
}

/// Effective priority: configured + tracking, clamped to 1..=254; an address owner (255) stays
/// 255 (RFC 5798 §5.2.4: 255 is reserved for the owner, 0 for a Master giving up).
pub fn effective_priority(configured: u8, delta: i32) -> u8 {
    if configured == 255 {
        return 255;
    }
    (i32::from(configured) + delta).clamp(1, 254) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goes_down_after_fall_consecutive_failures_and_up_after_rise_successes() {
        let mut rf = RiseFall::new(2, 3, true);
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(true), None, "a success resets the failure streak");
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(false), None);
        assert_eq!(rf.record(false), Some(false));
        assert!(!rf.is_up());
        assert_eq!(rf.record(true), None);
        assert_eq!(rf.record(true), Some(true));
        assert!(rf.is_up());
    }

    #[test]
    fn init_fail_starts_down() {
        let mut rf = RiseFall::new(1, 1, false);
        assert!(!rf.is_up());
        assert_eq!(rf.record(true), Some(true));
    }

    #[test]
    fn positive_weight_counts_while_up_negative_while_down() {
        let v = verdict([
            Tracked::UpDown {
                up: true,
                weight: 10,
            },
            Tracked::UpDown {
                up: false,
                weight: 20,
            },
            Tracked::UpDown {
                up: false,
                weight: -30,
            },
            Tracked::UpDown {
                up: true,
                weight: -40,
            },
        ]);
        assert_eq!(
            v,
            TrackVerdict {
                delta: 10 - 30,
                fault: false
            }
        );
    }

    #[test]
    fn weight_zero_down_means_fault() {
        assert!(
            verdict([Tracked::UpDown {
                up: false,
                weight: 0
            }])
            .fault
        );
        assert!(
            !verdict([Tracked::UpDown {
                up: true,
                weight: 0
            }])
            .fault
        );
    }

    #[test]
    fn track_file_multiplies_value_by_weight_and_weight_zero_faults_on_nonzero() {
        assert_eq!(
            verdict([Tracked::File {
                value: 3,
                weight: -10
            }])
            .delta,
            -30
        );
        assert_eq!(
            verdict([Tracked::File {
                value: 1_000_000,
                weight: 5
            }])
            .delta,
            254
        );
        assert!(
            verdict([Tracked::File {
                value: 1,
                weight: 0
            }])
            .fault
        );
        assert!(
            !verdict([Tracked::File {
                value: 0,
                weight: 0
            }])
            .fault
        );
    }

    #[test]
    fn effective_priority_is_clamped_and_owner_stays_255() {
        assert_eq!(effective_priority(100, 50), 150);
        assert_eq!(effective_priority(100, 500), 254);
        assert_eq!(effective_priority(100, -500), 1);
        assert_eq!(effective_priority(255, -100), 255);
    }
}
