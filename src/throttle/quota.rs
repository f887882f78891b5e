//! Per-port quotas (RULES.md: "per-sender / per-port throughput limits; throttles that count every
//! segment of a long SMS"): messages per second and segments per second per registered port, off by
//! default (0 = unlimited). The excess is held until the port's limiter allows it (PORT_QUOTA).

use std::num::NonZeroU32;
use std::sync::Arc;

use dashmap::DashMap;
use governor::clock::Clock as _;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use jiff::Timestamp;

use super::region::PolicyClock;
use crate::clock::Clock;
use crate::pipeline::verdict::Finding;
use crate::proto::ReasonCode;

type Direct = RateLimiter<NotKeyed, InMemoryState, PolicyClock, NoOpMiddleware<Nanos>>;

/// A port's limits; 0 = unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PortQuota {
    pub msgs_per_s: f64,
    pub segments_per_s: f64,
}

struct PortLimiters {
    quota: PortQuota,
    messages: Option<Direct>,
    segments: Option<Direct>,
}

pub struct PortQuotas {
    clock: PolicyClock,
    limiters: DashMap<Box<str>, Arc<PortLimiters>, ahash::RandomState>,
}

fn limiter(per_s: f64, burst: u32, clock: &PolicyClock) -> Option<Direct> {
    if per_s <= 0.0 || !per_s.is_finite() {
        return None;
    }
    let quota = Quota::with_period(std::time::Duration::from_secs_f64(1.0 / per_s))?
        .allow_burst(NonZeroU32::new(burst.max(1)).unwrap_or(NonZeroU32::MIN));
    Some(RateLimiter::direct_with_clock(quota, clock.clone()))
}

impl PortQuotas {
    pub fn new(clock: Arc<dyn Clock>) -> PortQuotas {
        PortQuotas {
            clock: PolicyClock(clock),
            limiters: DashMap::default(),
        }
    }

    fn limiters_for(&self, port: &str, quota: PortQuota) -> Arc<PortLimiters> {
        if let Some(l) = self.limiters.get(port)
            && l.quota == quota
        {
            return Arc::clone(&l);
        }
        // A long SMS must fit through at once: the segment bucket holds one second's worth (at least
        // the longest concatenated message, 16 parts).
        let segment_burst = (quota.segments_per_s.ceil() as u32).max(16);
        let fresh = Arc::new(PortLimiters {
            quota,
            messages: limiter(quota.msgs_per_s, 1, &self.clock),
            segments: limiter(quota.segments_per_s, segment_burst, &self.clock),
        });
        self.limiters.insert(port.into(), Arc::clone(&fresh));
        fresh
    }

    /// Takes one message of `segments` segments from the port's budget, or says when to come back.
    pub fn check(
        &self,
        port: &str,
        quota: PortQuota,
        segments: u32,
        now: Timestamp,
    ) -> Option<Finding> {
        if quota.msgs_per_s <= 0.0 && quota.segments_per_s <= 0.0 {
            return None;
        }
        let l = self.limiters_for(port, quota);
        let mut wait = std::time::Duration::ZERO;
        if let Some(m) = &l.messages
            && let Err(not_until) = m.check()
        {
            wait = wait.max(not_until.wait_time_from(self.clock.now()));
        }
        if wait.is_zero()
            && let Some(s) = &l.segments
        {
            let n = NonZeroU32::new(segments.max(1)).unwrap_or(NonZeroU32::MIN);
            match s.check_n(n) {
                Ok(Ok(())) => {}
                Ok(Err(not_until)) => wait = not_until.wait_time_from(self.clock.now()),
                // More segments than the bucket can ever hold: pace by the rate instead.
                Err(_) => {
                    wait = std::time::Duration::from_secs_f64(
                        f64::from(n.get()) / quota.segments_per_s,
                    )
                }
            }
        }
        if wait.is_zero() {
            return None;
        }
        let until = now
            .checked_add(jiff::SignedDuration::try_from(wait).unwrap_or_default())
            .unwrap_or(now);
        Some(Finding::hold(
            ReasonCode::ReasonPortQuota,
            until,
            format!(
                "port {port} over its quota ({} msg/s, {} segments/s)",
                quota.msgs_per_s, quota.segments_per_s
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn messages_and_segments_are_both_capped() {
        let clock = Arc::new(ManualClock::new("2026-11-23T02:00:00Z".parse().unwrap()));
        let q = PortQuotas::new(Arc::clone(&clock) as Arc<dyn Clock>);
        let now = clock.now();
        let off = PortQuota::default();
        assert!(
            (0..100).all(|_| q.check("1069", off, 1, now).is_none()),
            "off by default"
        );

        let per_msg = PortQuota {
            msgs_per_s: 1.0,
            segments_per_s: 0.0,
        };
        assert!(q.check("1069", per_msg, 1, now).is_none());
        let held = q.check("1069", per_msg, 1, now).unwrap();
        assert_eq!(held.code, ReasonCode::ReasonPortQuota);
        assert_eq!(held.hold_until.unwrap().duration_since(now).as_secs(), 1);

        let per_segment = PortQuota {
            msgs_per_s: 0.0,
            segments_per_s: 16.0,
        };
        assert!(q.check("1070", per_segment, 10, now).is_none());
        assert!(
            q.check("1070", per_segment, 6, now).is_none(),
            "16 segments fit in one second"
        );
        assert!(
            q.check("1070", per_segment, 1, now).is_some(),
            "the 17th segment waits"
        );
    }
}
