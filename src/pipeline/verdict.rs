//! From reasons to a verdict (API.md "Precedence"): any hard refusal gives REJECT; otherwise any hold
//! gives HOLD until the latest `hold_until`; otherwise RELEASE. Monitor (shadow) mode is applied here,
//! last: a monitored reason is reported but does not change the verdict.

use jiff::Timestamp;

use crate::proto::ReasonCode;

/// Array size for per-reason tables indexed by `ReasonCode as usize`.
pub const REASON_SLOTS: usize = 20;

/// The fixed order in which reasons are listed; the deciding one comes first.
pub const PRECEDENCE: [ReasonCode; 19] = [
    ReasonCode::ReasonMalformed,
    ReasonCode::ReasonSenderUnknown,
    ReasonCode::ReasonSignatureMismatch,
    ReasonCode::ReasonCategoryNotAllowed,
    ReasonCode::ReasonIllegalContent,
    ReasonCode::ReasonFraudSuspect,
    ReasonCode::ReasonOptedOut,
    ReasonCode::ReasonNoConsent,
    ReasonCode::ReasonMissingSignature,
    ReasonCode::ReasonMissingOptoutNotice,
    ReasonCode::ReasonSpamContent,
    ReasonCode::ReasonRegionBlocked,
    ReasonCode::ReasonDuplicate,
    ReasonCode::ReasonFrequencyCap,
    ReasonCode::ReasonConcatIncomplete,
    ReasonCode::ReasonConcatPending,
    ReasonCode::ReasonRegionThrottled,
    ReasonCode::ReasonPortQuota,
    ReasonCode::ReasonQuietHours,
];

const fn precedence_rank(code: ReasonCode) -> u8 {
    let mut i = 0;
    while i < PRECEDENCE.len() {
        if PRECEDENCE[i] as i32 == code as i32 {
            return i as u8;
        }
        i += 1;
    }
    u8::MAX
}

/// Holds end by themselves; everything else is a refusal.
pub fn is_hold(code: ReasonCode) -> bool {
    matches!(
        code,
        ReasonCode::ReasonConcatPending
            | ReasonCode::ReasonRegionThrottled
            | ReasonCode::ReasonPortQuota
            | ReasonCode::ReasonQuietHours
    )
}

/// Every reason code a decision can carry, with its config / metric name.
pub fn reason_name(code: ReasonCode) -> &'static str {
    code.as_str_name().trim_start_matches("REASON_")
}

pub fn parse_reason(name: &str) -> Option<ReasonCode> {
    let upper = name.trim().to_ascii_uppercase();
    let full = if upper.starts_with("REASON_") {
        upper
    } else {
        format!("REASON_{upper}")
    };
    ReasonCode::from_str_name(&full).filter(|c| *c != ReasonCode::ReasonUnspecified)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Release,
    Hold,
    Reject,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Release => "RELEASE",
            Verdict::Hold => "HOLD",
            Verdict::Reject => "REJECT",
        }
    }
}

/// A reason found by a check. `detail` says what exactly, for the gateway and the audit.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub code: ReasonCode,
    pub detail: String,
    /// For holds: when the message may be screened again.
    pub hold_until: Option<Timestamp>,
}

impl Finding {
    pub fn refuse(code: ReasonCode, detail: impl Into<String>) -> Finding {
        Finding {
            code,
            detail: detail.into(),
            hold_until: None,
        }
    }

    pub fn hold(code: ReasonCode, until: Timestamp, detail: impl Into<String>) -> Finding {
        Finding {
            code,
            detail: detail.into(),
            hold_until: Some(until),
        }
    }
}

/// What the findings add up to.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    pub verdict: Verdict,
    /// The verdict had monitor mode not been on (set only when it differs from `verdict`).
    pub monitored_verdict: Option<Verdict>,
    pub hold_until: Option<Timestamp>,
    /// The reason that decided the enforced verdict (or the would-be verdict when monitored).
    pub deciding: Option<ReasonCode>,
}

/// Sorts `findings` into precedence order (stable) and computes the verdict. `monitored(code)` says
/// whether a reason is in monitor mode.
pub fn decide(findings: &mut [Finding], monitored: impl Fn(ReasonCode) -> bool) -> Outcome {
    findings.sort_by_key(|f| precedence_rank(f.code));
    let enforced = fold(findings.iter().filter(|f| !monitored(f.code)));
    let would_be = fold(findings.iter());
    Outcome {
        verdict: enforced.0,
        monitored_verdict: (would_be.0 != enforced.0).then_some(would_be.0),
        hold_until: if enforced.0 == Verdict::Hold {
            enforced.1
        } else {
            None
        },
        deciding: findings.first().map(|f| f.code),
    }
}

fn fold<'a>(findings: impl Iterator<Item = &'a Finding>) -> (Verdict, Option<Timestamp>) {
    let mut verdict = Verdict::Release;
    let mut hold_until: Option<Timestamp> = None;
    for f in findings {
        if is_hold(f.code) {
            if verdict == Verdict::Release {
                verdict = Verdict::Hold;
            }
            hold_until = hold_until.max(f.hold_until);
        } else {
            verdict = Verdict::Reject;
        }
    }
    (verdict, hold_until)
}

/// API.md "SMPP status" defaults: SENDER_UNKNOWN 0x0A, holds and throttles 0x58, other refusals 0x45
/// (MALFORMED on the msisdn is 0x0B, handled by the caller).
pub fn default_smpp_status() -> [u32; REASON_SLOTS] {
    let mut table = [0x45; REASON_SLOTS];
    table[ReasonCode::ReasonUnspecified as usize] = 0;
    table[ReasonCode::ReasonSenderUnknown as usize] = 0x0A;
    for code in PRECEDENCE.iter().filter(|c| is_hold(**c)) {
        table[*code as usize] = 0x58;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_code_has_a_rank_and_a_slot() {
        for code in PRECEDENCE {
            assert!((code as usize) < REASON_SLOTS);
            assert_eq!(parse_reason(reason_name(code)), Some(code));
        }
        assert_eq!(PRECEDENCE.len(), REASON_SLOTS - 1);
    }

    #[test]
    fn refusal_beats_hold_and_latest_hold_wins() {
        let t1: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let t2: Timestamp = "2026-01-01T01:00:00Z".parse().unwrap();
        let mut f = vec![
            Finding::hold(ReasonCode::ReasonQuietHours, t1, ""),
            Finding::hold(ReasonCode::ReasonRegionThrottled, t2, ""),
        ];
        let o = decide(&mut f, |_| false);
        assert_eq!((o.verdict, o.hold_until), (Verdict::Hold, Some(t2)));
        assert_eq!(f[0].code, ReasonCode::ReasonRegionThrottled);

        f.push(Finding::refuse(ReasonCode::ReasonNoConsent, ""));
        let o = decide(&mut f, |_| false);
        assert_eq!((o.verdict, o.hold_until), (Verdict::Reject, None));
        assert_eq!(f[0].code, ReasonCode::ReasonNoConsent);
    }

    #[test]
    fn monitored_reasons_release_and_report_the_would_be_verdict() {
        let mut f = vec![Finding::refuse(ReasonCode::ReasonSpamContent, "")];
        let o = decide(&mut f, |c| c == ReasonCode::ReasonSpamContent);
        assert_eq!(o.verdict, Verdict::Release);
        assert_eq!(o.monitored_verdict, Some(Verdict::Reject));
        let o = decide(&mut f, |_| false);
        assert_eq!((o.verdict, o.monitored_verdict), (Verdict::Reject, None));
    }
}
