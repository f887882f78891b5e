//! Policy: each check is a small pure function of (message, state snapshot, now) that passes or
//! names a reason (ARCHITECTURE.md §2). The defaults that change verdicts are RULES.md's; they live in
//! `PolicyConfig`, validated by `config` and swapped with every reload.

pub mod consent;
pub mod content;
pub mod duplicate;
pub mod frequency;
pub mod optout;
pub mod quiet_hours;
pub mod sender;

use jiff::tz::TimeZone;

use crate::domain::CategorySet;
use crate::pipeline::verdict::REASON_SLOTS;

/// A daily window in subscriber local time, `[start, end)` in minutes after midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DailyWindow {
    pub start_minute: u16,
    pub end_minute: u16,
}

#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// Global monitor (shadow) mode: decide, report, release.
    pub monitor_all: bool,
    /// Per-rule monitor mode, indexed by `ReasonCode as usize`.
    pub monitored: [bool; REASON_SLOTS],
    /// "Commercial" categories (RULES.md: MARKETING and LOAN_MARKETING).
    pub commercial: CategorySet,
    /// Categories that need an express consent.
    pub consent_required: CategorySet,
    pub marketing_window: DailyWindow,
    pub collection_window: DailyWindow,
    /// Subscriber time zone for windows and calendar days (Asia/Shanghai).
    pub timezone: TimeZone,
    /// Commercial messages per (msisdn, enterprise) per calendar day; 0 = no cap.
    pub frequency_cap_per_day: u32,
    /// Same normalized text to the same msisdn from the same enterprise; 0 = off.
    pub duplicate_window_secs: i64,
    /// spam_score at or above this is REJECT SPAM_CONTENT.
    pub spam_reject_score: f64,
    /// Campaign fingerprints: when a complained campaign marks a message (FUZZY_COMPLAINED).
    pub fingerprint: crate::pipeline::classify::fingerprint::FingerprintSettings,
    pub idempotency_ttl_secs: i64,
    /// SMPP command_status per reason, indexed by `ReasonCode as usize`.
    pub smpp_status: [u32; REASON_SLOTS],
    /// SMPP command_status for a malformed msisdn (ESME_RINVDSTADR).
    pub smpp_status_bad_msisdn: u32,
    /// Longest text screened, in characters (API.md: 2,000).
    pub max_text_chars: usize,
    /// `audit.decisions = "all"`: audit every decision, not only those RULES.md requires.
    pub audit_all_decisions: bool,
}
