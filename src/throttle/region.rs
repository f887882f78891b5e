//! `RegionThrottle`: the live state of the complaint-rate throttles and operator blocks, read on the
//! hot path for every commercial message and updated on every release and complaint.
//!
//! The effective level for (province, enterprise) is the higher of its own and the province's
//! (RULES.md). A level is entered as soon as the rate reaches it with enough sample (min messages
//! and complaints) and left only when the rate falls below `release_rate` (hysteresis), so a
//! province does not flap at a threshold. THROTTLED caps the enterprise's commercial messages into
//! the province with a GCRA limiter (governor); the excess is held until the limiter allows it.

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use arc_swap::ArcSwap;
use dashmap::DashMap;
use governor::clock::Clock as GovernorClock;
use governor::nanos::Nanos;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use jiff::Timestamp;

use super::window::{Geometry, Window};
use super::{RegionPolicy, ThrottleConfig};
use crate::clock::Clock;
use crate::domain::{Category, CategorySet};
use crate::pipeline::verdict::Finding;
use crate::proto::ReasonCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Normal,
    Warn,
    Throttled,
    Blocked,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Normal => "NORMAL",
            Level::Warn => "WARN",
            Level::Throttled => "THROTTLED",
            Level::Blocked => "BLOCKED",
        }
    }

    /// The level the rate asks for, with hysteresis: up as soon as the rate reaches a threshold with
    /// enough sample, down only below `release_rate`.
    pub fn next(self, rate: f64, messages: u64, complaints: u64, p: &RegionPolicy) -> Level {
        let enough = messages >= p.min_messages && complaints >= u64::from(p.min_complaints);
        let target = if !enough {
            Level::Normal
        } else if rate >= p.block_rate {
            Level::Blocked
        } else if rate >= p.throttle_rate {
            Level::Throttled
        } else if rate >= p.warn_rate {
            Level::Warn
        } else {
            Level::Normal
        };
        if target > self || rate < p.release_rate {
            target
        } else {
            self
        }
    }
}

/// An operator's block (API.md `RegionBlock`): durable, audited with the operator's name.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualBlock {
    pub province: String,
    /// None = every enterprise.
    pub enterprise: Option<String>,
    pub categories: CategorySet,
    pub reason: String,
    pub operator: String,
    pub since_ns: i64,
}

impl ManualBlock {
    pub fn from_row(row: &crate::store::event::RegionBlockRow) -> ManualBlock {
        ManualBlock {
            province: row.province.clone(),
            enterprise: (!row.enterprise.is_empty()).then(|| row.enterprise.clone()),
            categories: CategorySet::from_bits(row.categories),
            reason: row.reason.clone(),
            operator: row.operator.clone(),
            since_ns: row.at_ns,
        }
    }

    fn covers(&self, province: &str, enterprise: &str, category: Category) -> bool {
        self.province == province
            && self.enterprise.as_deref().is_none_or(|e| e == enterprise)
            && self.categories.contains(category)
    }
}

/// One key's window and level.
#[derive(Debug, Default)]
struct KeyState {
    window: Window,
    level: Option<Level>,
    since_ns: i64,
}

/// What ListThrottles shows for one key.
#[derive(Debug, Clone, PartialEq)]
pub struct ThrottleState {
    pub province: String,
    /// Empty for the province as a whole.
    pub enterprise: String,
    pub level: Level,
    pub complaint_rate: f64,
    pub messages: u64,
    pub complaints: u64,
    pub manual: bool,
    pub since_ns: i64,
}

/// governor reads policy time through this, so holds follow the injected clock.
#[derive(Clone)]
pub struct PolicyClock(pub Arc<dyn Clock>);

impl GovernorClock for PolicyClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let ns = self.0.now().as_nanosecond();
        Nanos::from(u64::try_from(ns).unwrap_or(0))
    }
}

type Limiter = RateLimiter<
    u32,
    DashMapStateStore<u32>,
    PolicyClock,
    governor::middleware::NoOpMiddleware<Nanos>,
>;

/// Key of a window: (province index, enterprise id); enterprise 0 is the province as a whole.
type Key = (u8, u32);
const PROVINCE_WIDE: u32 = 0;

pub struct RegionThrottle {
    geometry: Geometry,
    clock: PolicyClock,
    provinces: BTreeMap<String, u8>,
    province_names: Vec<String>,
    enterprises: DashMap<Box<str>, u32, ahash::RandomState>,
    enterprise_names: DashMap<u32, Box<str>, ahash::RandomState>,
    next_enterprise: AtomicU32,
    windows: DashMap<Key, KeyState, ahash::RandomState>,
    /// File policies with the SetRegionPolicy overrides applied ("" = the default).
    policies: ArcSwap<ThrottleConfig>,
    overrides: ArcSwap<BTreeMap<String, RegionPolicy>>,
    blocks: ArcSwap<Vec<ManualBlock>>,
    /// One limiter per province (its quota comes from that province's policy), keyed by enterprise.
    limiters: DashMap<u8, (u64, Arc<Limiter>), ahash::RandomState>,
}

impl RegionThrottle {
    pub fn new(
        config: ThrottleConfig,
        provinces: impl IntoIterator<Item = String>,
        clock: Arc<dyn Clock>,
    ) -> RegionThrottle {
        let province_names: Vec<String> = provinces.into_iter().collect();
        let provinces = province_names
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i as u8))
            .collect();
        RegionThrottle {
            geometry: config.geometry,
            clock: PolicyClock(clock),
            provinces,
            province_names,
            enterprises: DashMap::default(),
            enterprise_names: DashMap::default(),
            next_enterprise: AtomicU32::new(0),
            windows: DashMap::default(),
            policies: ArcSwap::from_pointee(config),
            overrides: ArcSwap::from_pointee(BTreeMap::new()),
            blocks: ArcSwap::from_pointee(Vec::new()),
            limiters: DashMap::default(),
        }
    }

    /// The policy clock the limiters run on.
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.clock.0)
    }

    pub fn province_known(&self, province: &str) -> bool {
        self.provinces.contains_key(province)
    }

    /// A reload: new file policies (the overrides stay on top).
    pub fn replace_config(&self, config: ThrottleConfig) {
        self.policies.store(Arc::new(config));
        self.limiters.clear();
    }

    /// Operator overrides (SetRegionPolicy), "" = the default for every province.
    pub fn set_override(&self, province: &str, policy: RegionPolicy) {
        let mut next = (**self.overrides.load()).clone();
        next.insert(province.to_owned(), policy);
        self.overrides.store(Arc::new(next));
        self.limiters.clear();
    }

    pub fn effective_policy(&self, province: &str) -> RegionPolicy {
        let overrides = self.overrides.load();
        if let Some(p) = overrides.get(province) {
            return *p;
        }
        let file = self.policies.load();
        if let Some(p) = file.provinces.get(province) {
            return *p;
        }
        overrides.get("").copied().unwrap_or(file.default)
    }

    pub fn set_blocks(&self, blocks: Vec<ManualBlock>) {
        self.blocks.store(Arc::new(blocks));
    }

    pub fn blocks(&self) -> Arc<Vec<ManualBlock>> {
        self.blocks.load_full()
    }

    fn enterprise_id(&self, enterprise: &str, create: bool) -> Option<u32> {
        if let Some(id) = self.enterprises.get(enterprise) {
            return Some(*id);
        }
        if !create {
            return None;
        }
        let id = *self
            .enterprises
            .entry(enterprise.into())
            .or_insert_with(|| {
                let id = self.next_enterprise.fetch_add(1, Ordering::Relaxed) + 1;
                self.enterprise_names.insert(id, enterprise.into());
                id
            });
        Some(id)
    }

    fn now_parts(&self, now: Timestamp) -> (u32, i64) {
        (
            self.geometry.bucket_of(now.as_second()),
            i64::try_from(now.as_nanosecond()).unwrap_or(i64::MAX),
        )
    }

    /// Expires, adds and re-evaluates one key; returns its level.
    fn update(
        &self,
        key: Key,
        policy: &RegionPolicy,
        now: Timestamp,
        messages: u32,
        complaints: u32,
    ) -> Level {
        let (bucket, now_ns) = self.now_parts(now);
        let mut state = self.windows.entry(key).or_default();
        if messages + complaints > 0 {
            state
                .window
                .add(self.geometry, bucket, messages, complaints);
        }
        state.window.expire(self.geometry, bucket);
        let current = state.level.unwrap_or(Level::Normal);
        let next = current.next(
            state.window.rate(),
            state.window.messages(),
            state.window.complaints(),
            policy,
        );
        if state.level != Some(next) {
            if state.level.is_some() || next != Level::Normal {
                tracing::info!(
                    province = %self.province_names.get(usize::from(key.0)).map_or("?", String::as_str),
                    enterprise_id = key.1,
                    from = current.as_str(),
                    to = next.as_str(),
                    rate = state.window.rate(),
                    "throttle level changed"
                );
            }
            state.level = Some(next);
            state.since_ns = now_ns;
        }
        next
    }

    fn record(
        &self,
        province: &str,
        enterprise: &str,
        now: Timestamp,
        messages: u32,
        complaints: u32,
    ) {
        let Some(&p) = self.provinces.get(province) else {
            return;
        };
        let Some(e) = self.enterprise_id(enterprise, true) else {
            return;
        };
        let policy = self.effective_policy(province);
        self.update((p, e), &policy, now, messages, complaints);
        self.update((p, PROVINCE_WIDE), &policy, now, messages, complaints);
    }

    /// A commercial message was released into `province` for `enterprise`.
    pub fn record_release(&self, province: &str, enterprise: &str, now: Timestamp) {
        self.record(province, enterprise, now, 1, 0);
    }

    /// A complaint about `enterprise` came from `province`.
    pub fn record_complaint(&self, province: &str, enterprise: &str, now: Timestamp) {
        self.record(province, enterprise, now, 0, 1);
    }

    fn level_of(&self, key: Key, policy: &RegionPolicy, now: Timestamp) -> Level {
        if !self.windows.contains_key(&key) {
            return Level::Normal;
        }
        self.update(key, policy, now, 0, 0)
    }

    /// The level of (province, enterprise): the higher of its own and the province's.
    pub fn effective_level(&self, province: &str, enterprise: &str, now: Timestamp) -> Level {
        let Some(&p) = self.provinces.get(province) else {
            return Level::Normal;
        };
        let policy = self.effective_policy(province);
        let own = self
            .enterprise_id(enterprise, false)
            .map_or(Level::Normal, |e| self.level_of((p, e), &policy, now));
        own.max(self.level_of((p, PROVINCE_WIDE), &policy, now))
    }

    fn limiter(&self, p: u8, policy: &RegionPolicy) -> Arc<Limiter> {
        let per_s = policy.throttle_msgs_per_s.max(0.001);
        let fingerprint = per_s.to_bits();
        if let Some(l) = self.limiters.get(&p)
            && l.0 == fingerprint
        {
            return Arc::clone(&l.1);
        }
        let period = std::time::Duration::from_secs_f64(1.0 / per_s);
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::MIN);
        let limiter = Arc::new(RateLimiter::dashmap_with_clock(quota, self.clock.clone()));
        self.limiters.insert(p, (fingerprint, Arc::clone(&limiter)));
        limiter
    }

    /// The regional check for one message. Manual blocks apply to the categories they name; the
    /// complaint-rate levels apply to commercial messages only (verification and service are never
    /// throttled by complaint rate).
    pub fn check(
        &self,
        province: &str,
        enterprise: &str,
        category: Category,
        commercial: bool,
        now: Timestamp,
    ) -> Option<Finding> {
        let blocks = self.blocks.load();
        if let Some(b) = blocks
            .iter()
            .find(|b| b.covers(province, enterprise, category))
        {
            return Some(Finding::refuse(
                ReasonCode::ReasonRegionBlocked,
                format!(
                    "{province} blocked for {} by operator {}: {}",
                    category.as_str(),
                    b.operator,
                    b.reason
                ),
            ));
        }
        if !commercial {
            return None;
        }
        let &p = self.provinces.get(province)?;
        match self.effective_level(province, enterprise, now) {
            Level::Blocked => Some(Finding::refuse(
                ReasonCode::ReasonRegionBlocked,
                format!("complaint rate into {province} is over the block threshold"),
            )),
            Level::Throttled => {
                let policy = self.effective_policy(province);
                let e = self.enterprise_id(enterprise, true)?;
                match self.limiter(p, &policy).check_key(&e) {
                    Ok(()) => None,
                    Err(not_until) => {
                        let wait = not_until.wait_time_from(self.clock.now());
                        let until = now
                            .checked_add(
                                jiff::SignedDuration::try_from(wait)
                                    .unwrap_or(jiff::SignedDuration::ZERO),
                            )
                            .unwrap_or(now);
                        Some(Finding::hold(
                            ReasonCode::ReasonRegionThrottled,
                            until,
                            format!(
                                "{province} throttled to {} msg/s for {enterprise}",
                                policy.throttle_msgs_per_s
                            ),
                        ))
                    }
                }
            }
            Level::Normal | Level::Warn => None,
        }
    }

    /// Every key above NORMAL (and every manual block), filtered; for ListThrottles and metrics.
    pub fn states(
        &self,
        province: Option<&str>,
        enterprise: Option<&str>,
        now: Timestamp,
    ) -> Vec<ThrottleState> {
        let keys: Vec<Key> = self.windows.iter().map(|e| *e.key()).collect();
        let mut out = Vec::new();
        for key in keys {
            let name = self
                .province_names
                .get(usize::from(key.0))
                .cloned()
                .unwrap_or_default();
            if province.is_some_and(|p| p != name) {
                continue;
            }
            let ent = if key.1 == PROVINCE_WIDE {
                String::new()
            } else {
                self.enterprise_names
                    .get(&key.1)
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            };
            if enterprise.is_some_and(|e| e != ent) {
                continue;
            }
            let policy = self.effective_policy(&name);
            let level = self.level_of(key, &policy, now);
            let Some(state) = self.windows.get(&key) else {
                continue;
            };
            if level == Level::Normal {
                continue;
            }
            out.push(ThrottleState {
                province: name,
                enterprise: ent,
                level,
                complaint_rate: state.window.rate(),
                messages: state.window.messages(),
                complaints: state.window.complaints(),
                manual: false,
                since_ns: state.since_ns,
            });
        }
        for b in self.blocks.load().iter() {
            if province.is_some_and(|p| p != b.province) {
                continue;
            }
            if enterprise.is_some_and(|e| Some(e) != b.enterprise.as_deref()) {
                continue;
            }
            out.push(ThrottleState {
                province: b.province.clone(),
                enterprise: b.enterprise.clone().unwrap_or_default(),
                level: Level::Blocked,
                complaint_rate: 0.0,
                messages: 0,
                complaints: 0,
                manual: true,
                since_ns: b.since_ns,
            });
        }
        out.sort_by(|a, b| {
            (&a.province, &a.enterprise, a.manual).cmp(&(&b.province, &b.enterprise, b.manual))
        });
        out
    }

    /// Per-province rate and level (every province with traffic), for metrics.
    pub fn province_levels(&self, now: Timestamp) -> Vec<(String, f64, Level)> {
        let mut out = Vec::new();
        for (name, &p) in &self.provinces {
            if !self.windows.contains_key(&(p, PROVINCE_WIDE)) {
                continue;
            }
            let policy = self.effective_policy(name);
            let level = self.level_of((p, PROVINCE_WIDE), &policy, now);
            let rate = self
                .windows
                .get(&(p, PROVINCE_WIDE))
                .map_or(0.0, |s| s.window.rate());
            out.push((name.clone(), rate, level));
        }
        out
    }

    /// Drops keys with nothing left in the window and at NORMAL.
    pub fn sweep(&self, now: Timestamp) {
        let (bucket, _) = self.now_parts(now);
        self.windows.retain(|_, s| {
            s.window.expire(self.geometry, bucket);
            !(s.window.is_empty() && s.level.unwrap_or(Level::Normal) == Level::Normal)
        });
    }

    /// Keys and heap bytes held by the windows (for the memory measurement).
    pub fn footprint(&self) -> (usize, usize) {
        let heap: usize = self.windows.iter().map(|e| e.window.heap_bytes()).sum();
        (
            self.windows.len(),
            heap + self.windows.len() * std::mem::size_of::<(Key, KeyState)>(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn policy() -> RegionPolicy {
        RegionPolicy {
            min_messages: 100,
            min_complaints: 2,
            ..RegionPolicy::default()
        }
    }

    #[test]
    fn levels_rise_at_thresholds_and_fall_only_below_release() {
        let p = policy();
        assert_eq!(
            Level::Normal.next(0.01, 50, 5, &p),
            Level::Normal,
            "not enough messages"
        );
        assert_eq!(Level::Normal.next(0.0004, 10_000, 4, &p), Level::Warn);
        assert_eq!(Level::Normal.next(0.0006, 10_000, 6, &p), Level::Throttled);
        assert_eq!(Level::Warn.next(0.002, 10_000, 20, &p), Level::Blocked);
        assert_eq!(
            Level::Blocked.next(0.0004, 10_000, 4, &p),
            Level::Blocked,
            "above release: stays"
        );
        assert_eq!(
            Level::Throttled.next(0.00025, 10_000, 3, &p),
            Level::Throttled
        );
        assert_eq!(Level::Throttled.next(0.0001, 10_000, 1, &p), Level::Normal);
    }

    #[test]
    fn a_throttled_pair_is_held_at_the_limiter_rate_and_service_is_never_throttled() {
        let clock = Arc::new(ManualClock::new("2026-11-23T02:00:00Z".parse().unwrap()));
        let config = ThrottleConfig {
            default: RegionPolicy {
                min_messages: 100,
                min_complaints: 2,
                throttle_msgs_per_s: 2.0,
                ..RegionPolicy::default()
            },
            ..ThrottleConfig::default()
        };
        let t = RegionThrottle::new(
            config,
            ["广东".to_owned(), "北京".to_owned()],
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        let now = clock.now();
        for _ in 0..1000 {
            t.record_release("广东", "ent-a", now);
        }
        // 0.0006 > throttle 0.0005 but < block 0.001 needs 1 complaint per ~1,667; use 10,000 messages.
        for _ in 0..9000 {
            t.record_release("广东", "ent-a", now);
        }
        for _ in 0..6 {
            t.record_complaint("广东", "ent-a", now);
        }
        assert_eq!(t.effective_level("广东", "ent-a", now), Level::Throttled);
        assert_eq!(
            t.effective_level("广东", "ent-b", now),
            Level::Throttled,
            "the province is throttled too"
        );
        assert_eq!(t.effective_level("北京", "ent-a", now), Level::Normal);
        let first = t.check("广东", "ent-a", Category::Marketing, true, now);
        assert!(first.is_none(), "the first message passes the limiter");
        let held = t
            .check("广东", "ent-a", Category::Marketing, true, now)
            .unwrap();
        assert_eq!(held.code, ReasonCode::ReasonRegionThrottled);
        let until = held.hold_until.unwrap();
        assert_eq!(
            until.duration_since(now).as_millis(),
            500,
            "2 msg/s: the next slot is 0.5 s away"
        );
        assert!(
            t.check("广东", "ent-a", Category::Verification, false, now)
                .is_none()
        );
    }

    #[test]
    fn manual_blocks_cover_their_categories_only() {
        let clock = Arc::new(ManualClock::new("2026-11-23T02:00:00Z".parse().unwrap()));
        let t = RegionThrottle::new(
            ThrottleConfig::default(),
            ["广东".to_owned()],
            Arc::clone(&clock) as Arc<dyn Clock>,
        );
        t.set_blocks(vec![ManualBlock {
            province: "广东".into(),
            enterprise: Some("ent-a".into()),
            categories: CategorySet::of(&[Category::Marketing, Category::LoanMarketing]),
            reason: "complaint spike".into(),
            operator: "ops-wang".into(),
            since_ns: 0,
        }]);
        let now = clock.now();
        let f = t
            .check("广东", "ent-a", Category::Marketing, true, now)
            .unwrap();
        assert_eq!(f.code, ReasonCode::ReasonRegionBlocked);
        assert!(f.detail.contains("ops-wang"));
        assert!(
            t.check("广东", "ent-b", Category::Marketing, true, now)
                .is_none()
        );
        assert!(
            t.check("广东", "ent-a", Category::Verification, false, now)
                .is_none()
        );
    }
}
