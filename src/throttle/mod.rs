//! Regional complaint-rate throttles (RULES.md: operator policy, configured per region). Complaints
//! per released commercial message over a sliding window, per (province, enterprise) and per
//! province; levels WARN, THROTTLED and BLOCKED with hysteresis; operator blocks by hand. The
//! numbers are operator policy: no public source gives carriers' thresholds, so they live in
//! `throttles.toml` with RULES.md's defaults, and SetRegionPolicy overrides them durably.

pub mod quota;
pub mod region;
pub mod window;

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::ConfigError;

/// One province's (or the default) complaint-rate policy (API.md `RegionPolicy`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RegionPolicy {
    pub warn_rate: f64,
    pub throttle_rate: f64,
    pub block_rate: f64,
    /// A level is left only below this.
    pub release_rate: f64,
    pub min_messages: u64,
    pub min_complaints: u32,
    /// Cap per (province, enterprise) while throttled.
    pub throttle_msgs_per_s: f64,
}

impl Default for RegionPolicy {
    /// RULES.md: warn 0.0003, throttle 0.0005, block 0.001; at least 10,000 messages and 5
    /// complaints; leave a level below 0.0002; throttled cap 10 msg/s.
    fn default() -> RegionPolicy {
        RegionPolicy {
            warn_rate: 0.0003,
            throttle_rate: 0.0005,
            block_rate: 0.001,
            release_rate: 0.0002,
            min_messages: 10_000,
            min_complaints: 5,
            throttle_msgs_per_s: 10.0,
        }
    }
}

impl RegionPolicy {
    /// Every problem, each with `path` as its prefix.
    pub fn validate(&self, path: &str, errors: &mut Vec<ConfigError>) {
        let rates = [
            ("warn_rate", self.warn_rate),
            ("throttle_rate", self.throttle_rate),
            ("block_rate", self.block_rate),
            ("release_rate", self.release_rate),
        ];
        for (key, v) in rates {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                errors.push(ConfigError::new(
                    format!("{path}.{key}"),
                    format!("{v} is not a fraction in [0, 1]"),
                ));
            }
        }
        if !(self.warn_rate <= self.throttle_rate && self.throttle_rate <= self.block_rate) {
            errors.push(ConfigError::new(
                format!("{path}.throttle_rate"),
                format!(
                    "rates must rise: warn {} <= throttle {} <= block {}",
                    self.warn_rate, self.throttle_rate, self.block_rate
                ),
            ));
        }
        if self.release_rate >= self.warn_rate {
            errors.push(ConfigError::new(
                format!("{path}.release_rate"),
                format!(
                    "{} must be below warn_rate {} (hysteresis)",
                    self.release_rate, self.warn_rate
                ),
            ));
        }
        if !(self.throttle_msgs_per_s.is_finite() && self.throttle_msgs_per_s > 0.0) {
            errors.push(ConfigError::new(
                format!("{path}.throttle_msgs_per_s"),
                format!("{} must be above 0", self.throttle_msgs_per_s),
            ));
        }
    }
}

/// `throttles.toml`: the default policy, per-province overrides and the window.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottlesFile {
    pub default: RawPolicy,
    pub province: BTreeMap<String, RawPolicy>,
    pub window: RawWindow,
}

/// A policy as written: every key optional, missing keys inherit (the default, then RULES.md).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawPolicy {
    pub warn_rate: Option<f64>,
    pub throttle_rate: Option<f64>,
    pub block_rate: Option<f64>,
    pub release_rate: Option<f64>,
    pub min_messages: Option<u64>,
    pub min_complaints: Option<u32>,
    pub throttle_msgs_per_s: Option<f64>,
}

impl RawPolicy {
    pub fn over(&self, base: &RegionPolicy) -> RegionPolicy {
        RegionPolicy {
            warn_rate: self.warn_rate.unwrap_or(base.warn_rate),
            throttle_rate: self.throttle_rate.unwrap_or(base.throttle_rate),
            block_rate: self.block_rate.unwrap_or(base.block_rate),
            release_rate: self.release_rate.unwrap_or(base.release_rate),
            min_messages: self.min_messages.unwrap_or(base.min_messages),
            min_complaints: self.min_complaints.unwrap_or(base.min_complaints),
            throttle_msgs_per_s: self.throttle_msgs_per_s.unwrap_or(base.throttle_msgs_per_s),
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawWindow {
    pub hours: u32,
    pub bucket_secs: u32,
}

impl Default for RawWindow {
    fn default() -> RawWindow {
        RawWindow {
            hours: 24,
            bucket_secs: 60,
        }
    }
}

/// The validated file: default and per-province policies, and the window geometry.
#[derive(Debug, Clone)]
pub struct ThrottleConfig {
    pub default: RegionPolicy,
    pub provinces: BTreeMap<String, RegionPolicy>,
    pub geometry: window::Geometry,
}

impl Default for ThrottleConfig {
    fn default() -> ThrottleConfig {
        ThrottleConfig {
            default: RegionPolicy::default(),
            provinces: BTreeMap::new(),
            geometry: window::Geometry {
                bucket_secs: 60,
                buckets: 1440,
            },
        }
    }
}

impl ThrottleConfig {
    /// `known_province` says whether a name is in the number-segment table.
    pub fn build(
        file: &ThrottlesFile,
        origin: &str,
        known_province: impl Fn(&str) -> bool,
    ) -> Result<ThrottleConfig, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let default = file.default.over(&RegionPolicy::default());
        default.validate(&format!("{origin}: default"), &mut errors);
        let mut provinces = BTreeMap::new();
        for (name, raw) in &file.province {
            if !known_province(name) {
                errors.push(ConfigError::new(
                    format!("{origin}: province.{name}"),
                    "not a province of the number-segment table (e.g. 广东, 北京, 内蒙古)",
                ));
                continue;
            }
            let policy = raw.over(&default);
            policy.validate(&format!("{origin}: province.{name}"), &mut errors);
            provinces.insert(name.clone(), policy);
        }
        let w = file.window;
        if !(1..=168).contains(&w.hours) {
            errors.push(ConfigError::new(
                format!("{origin}: window.hours"),
                "must be 1 to 168",
            ));
        }
        if !(1..=3600).contains(&w.bucket_secs) || (w.hours * 3600) % w.bucket_secs.max(1) != 0 {
            errors.push(ConfigError::new(
                format!("{origin}: window.bucket_secs"),
                "must be 1 to 3600 and divide the window",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let geometry = window::Geometry {
            bucket_secs: w.bucket_secs,
            buckets: w.hours * 3600 / w.bucket_secs,
        };
        Ok(ThrottleConfig {
            default,
            provinces,
            geometry,
        })
    }

    pub fn policy_for(&self, province: &str) -> RegionPolicy {
        self.provinces
            .get(province)
            .copied()
            .unwrap_or(self.default)
    }
}
