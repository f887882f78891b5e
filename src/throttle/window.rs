//! Sliding-window counters of released commercial messages and complaints, per (province,
//! enterprise) and per province. Sparse twice over: only keys with traffic in the window exist, and
//! each key keeps only the buckets that saw traffic, so memory follows traffic, not provinces x
//! enterprises x buckets.

use std::collections::VecDeque;

/// One bucket with traffic: its number (seconds since the epoch / bucket length) and its counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bucket {
    index: u32,
    messages: u32,
    complaints: u32,
}

/// The window of one key: its buckets and their running totals.
#[derive(Debug, Clone, Default)]
pub struct Window {
    buckets: VecDeque<Bucket>,
    messages: u64,
    complaints: u64,
}

/// Window geometry: `buckets` buckets of `bucket_secs` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    pub bucket_secs: u32,
    pub buckets: u32,
}

impl Geometry {
    pub fn bucket_of(self, unix_secs: i64) -> u32 {
        u32::try_from(unix_secs.max(0) / i64::from(self.bucket_secs.max(1))).unwrap_or(u32::MAX)
    }
}

impl Window {
    /// Drops the buckets that fell out of the window ending at bucket `now`.
    pub fn expire(&mut self, geometry: Geometry, now: u32) {
        let oldest_kept = now.saturating_sub(geometry.buckets.saturating_sub(1));
        while let Some(front) = self.buckets.front().copied() {
            if front.index >= oldest_kept {
                break;
            }
            self.messages -= u64::from(front.messages);
            self.complaints -= u64::from(front.complaints);
            self.buckets.pop_front();
        }
    }

    /// Adds counts at bucket `at`; counts older than the newest bucket (a restart replaying history
    /// out of order) go into their own bucket in order.
    pub fn add(&mut self, geometry: Geometry, at: u32, messages: u32, complaints: u32) {
        self.messages += u64::from(messages);
        self.complaints += u64::from(complaints);
        match self.buckets.back_mut() {
            Some(b) if b.index == at => {
                b.messages += messages;
                b.complaints += complaints;
            }
            Some(b) if b.index > at => {
                let pos = self.buckets.partition_point(|b| b.index < at);
                match self.buckets.get_mut(pos) {
                    Some(b) if b.index == at => {
                        b.messages += messages;
                        b.complaints += complaints;
                    }
                    _ => self.buckets.insert(
                        pos,
                        Bucket {
                            index: at,
                            messages,
                            complaints,
                        },
                    ),
                }
            }
            _ => self.buckets.push_back(Bucket {
                index: at,
                messages,
                complaints,
            }),
        }
        let newest = self.buckets.back().map_or(at, |b| b.index);
        self.expire(geometry, newest);
    }

    pub fn messages(&self) -> u64 {
        self.messages
    }

    pub fn complaints(&self) -> u64 {
        self.complaints
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Complaints per released commercial message; 0 with no messages.
    pub fn rate(&self) -> f64 {
        if self.messages == 0 {
            0.0
        } else {
            self.complaints as f64 / self.messages as f64
        }
    }

    /// Heap bytes held (for the memory measurement).
    pub fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Bucket>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Geometry = Geometry {
        bucket_secs: 60,
        buckets: 1440,
    };

    #[test]
    fn counts_leave_the_window_after_24_hours() {
        let mut w = Window::default();
        w.add(G, 1000, 10, 1);
        w.add(G, 1000, 5, 0);
        w.add(G, 1500, 100, 2);
        assert_eq!((w.messages(), w.complaints()), (115, 3));
        w.expire(G, 1000 + 1439);
        assert_eq!(
            w.messages(),
            115,
            "bucket 1000 is still the oldest of the 1440"
        );
        w.expire(G, 1000 + 1440);
        assert_eq!((w.messages(), w.complaints()), (100, 2));
        w.expire(G, 1500 + 1440);
        assert!(w.is_empty());
        assert_eq!(w.rate(), 0.0);
    }

    #[test]
    fn out_of_order_history_lands_in_its_bucket() {
        let mut w = Window::default();
        w.add(G, 2000, 1, 0);
        w.add(G, 1990, 2, 0);
        w.add(G, 1995, 3, 1);
        w.add(G, 1990, 4, 0);
        assert_eq!((w.messages(), w.complaints()), (10, 1));
        w.expire(G, 1990 + 1440);
        assert_eq!(w.messages(), 4, "only buckets 1995 and 2000 remain");
    }
}
