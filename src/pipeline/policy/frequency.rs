//! Frequency cap: at most N commercial messages per (msisdn, enterprise) per calendar day (RULES.md
//! default 3; the 4th is REJECT FREQUENCY_CAP). Only released messages count; the count is taken
//! atomically when a message is released, so two concurrent screens cannot both slip under the cap.

use dashmap::DashMap;

use crate::domain::{Msisdn, stable_hash64};

#[derive(Debug, Default)]
pub struct FrequencyCounter {
    /// (msisdn, enterprise hash) -> (local day, released count that day)
    counts: DashMap<(u64, u64), (i64, u32)>,
}

impl FrequencyCounter {
    fn key(msisdn: Msisdn, enterprise: &str) -> (u64, u64) {
        (msisdn.as_u64(), stable_hash64(enterprise.as_bytes()))
    }

    /// Would one more message today exceed the cap?
    pub fn would_exceed(&self, msisdn: Msisdn, enterprise: &str, day: i64, cap: u32) -> bool {
        cap != 0
            && self
                .counts
                .get(&Self::key(msisdn, enterprise))
                .is_some_and(|e| e.0 == day && e.1 >= cap)
    }

    /// Counts a release; false (and nothing counted) when the cap is already reached.
    pub fn try_count(&self, msisdn: Msisdn, enterprise: &str, day: i64, cap: u32) -> bool {
        let mut entry = self
            .counts
            .entry(Self::key(msisdn, enterprise))
            .or_insert((day, 0));
        if entry.0 != day {
            *entry = (day, 0);
        }
        if cap != 0 && entry.1 >= cap {
            return false;
        }
        entry.1 += 1;
        true
    }

    /// Drops the counts of days before `today`.
    pub fn sweep(&self, today: i64) {
        self.counts.retain(|_, v| v.0 >= today);
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}
