//! The records of the audit chain. The registry's current state (consents, opt-outs, complaints) is
//! derived from these events: the writer applies each one to the state tables in the same
//! transaction, and `audit verify` replays them to prove the tables were not edited.

use serde::{Deserialize, Serialize};

/// One consent, as granted (its evidence travels with it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRow {
    pub consent_id: String,
    pub msisdn: String,
    pub enterprise: String,
    pub channel: i32,
    pub evidence_ref: String,
    pub evidence_sha256: String,
    /// CategorySet bits.
    pub scope: u8,
    pub granted_at_ns: i64,
    pub expires_at_ns: Option<i64>,
    pub revoked_at_ns: Option<i64>,
    pub recorded_at_ns: i64,
}

/// An opt-out or opt-in; `enterprise` empty = carrier-level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOutRow {
    pub record_id: String,
    pub msisdn: String,
    pub enterprise: String,
    /// 1 commercial, 2 collection.
    pub scope: u8,
    pub opted_out: bool,
    pub channel: i32,
    pub at_ns: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintRow {
    pub complaint_id: String,
    pub msisdn: String,
    pub sender_port: String,
    pub enterprise: String,
    pub province: String,
    pub received_at_ns: i64,
    pub source: String,
    pub text: String,
    pub message_id: String,
    pub wrong_recipient: bool,
    /// The campaign fingerprint (128-bit SimHash, hex) it attaches to; "" when none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fingerprint: String,
}

/// An audited decision: the request (text omitted for VERIFICATION) and the decision, as protobuf
/// (base64) so a DecisionRecord can be rebuilt exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRow {
    pub decision_id: String,
    pub decided_at_ns: i64,
    pub msisdn: String,
    pub sender_port: String,
    pub message_id: String,
    pub enterprise: String,
    /// The consent the decision relied on ("" when none): it keeps that consent's proof from being
    /// purged before the retention floor (RULES.md).
    pub consent_id: String,
    pub request_pb: String,
    pub decision_pb: String,
}

/// An operator's correction of a decision (Operations.Feedback), with the text it was about (from
/// the decision's audit record; empty for VERIFICATION, whose text is never stored), so `train
/// --feedback` can learn from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedbackRow {
    pub feedback_id: String,
    pub decision_id: String,
    pub msisdn: String,
    pub sender_port: String,
    pub message_id: String,
    pub enterprise: String,
    /// The category the operator says it is (Category::as_str); "" = not corrected.
    pub category: String,
    pub spam: bool,
    pub note: String,
    pub operator: String,
    pub text: String,
    pub at_ns: i64,
}

/// An operator's regional block (Operations.BlockRegion / UnblockRegion).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionBlockRow {
    pub province: String,
    /// "" = every enterprise.
    pub enterprise: String,
    /// CategorySet bits.
    pub categories: u8,
    pub reason: String,
    pub operator: String,
    pub at_ns: i64,
}

/// A complaint-rate policy override (Operations.SetRegionPolicy); rates as f64 bit patterns so the
/// record stays `Eq` and its canonical encoding exact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegionPolicyRow {
    /// "" = the default for every province.
    pub province: String,
    pub warn_rate: u64,
    pub throttle_rate: u64,
    pub block_rate: u64,
    pub release_rate: u64,
    pub min_messages: u64,
    pub min_complaints: u32,
    pub throttle_msgs_per_s: u64,
    pub at_ns: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    ConsentGranted(ConsentRow),
    ConsentRevoked {
        consent_id: String,
        msisdn: String,
        enterprise: String,
        channel: i32,
        revoked_at_ns: i64,
    },
    ConsentExpired {
        consent_id: String,
        msisdn: String,
        enterprise: String,
        expired_at_ns: i64,
    },
    OptedOut(OptOutRow),
    OptedIn(OptOutRow),
    Complaint(ComplaintRow),
    Decision(DecisionRow),
    /// A subscriber asked for their data to be erased (PIPL); retention carries it out.
    ErasureRequested {
        erasure_id: String,
        msisdn: String,
        reason: String,
        operator: String,
        at_ns: i64,
    },
    RegionBlocked(RegionBlockRow),
    RegionUnblocked(RegionBlockRow),
    RegionPolicySet(RegionPolicyRow),
    Feedback(FeedbackRow),
    /// A compliance query or export (Compliance.ConsentHistory, Decisions, VerifyAudit): who looked
    /// at what. `msisdn` is the subscriber the filter names ("" when it names none): stored in the
    /// msisdn column, it makes the record one of that subscriber's records, so an erasure request
    /// and `retention.max_months` purge it like the subscriber's other records (it relies on no
    /// consent, so the floor does not hold it beyond the maximum).
    ComplianceQuery {
        client: String,
        method: String,
        msisdn: String,
        enterprise: String,
        /// The request's filter as compact JSON.
        filter_json: String,
        at_ns: i64,
    },
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::ConsentGranted(_) => "consent_granted",
            Event::ConsentRevoked { .. } => "consent_revoked",
            Event::ConsentExpired { .. } => "consent_expired",
            Event::OptedOut(_) => "opted_out",
            Event::OptedIn(_) => "opted_in",
            Event::Complaint(_) => "complaint",
            Event::Decision(_) => "decision",
            Event::ErasureRequested { .. } => "erasure_requested",
            Event::RegionBlocked(_) => "region_blocked",
            Event::RegionUnblocked(_) => "region_unblocked",
            Event::RegionPolicySet(_) => "region_policy_set",
            Event::Feedback(_) => "feedback",
            Event::ComplianceQuery { .. } => "compliance_query",
        }
    }

    /// When it happened (the time the chain records).
    pub fn at_ns(&self) -> i64 {
        match self {
            Event::ConsentGranted(c) => c.recorded_at_ns,
            Event::ConsentRevoked { revoked_at_ns, .. } => *revoked_at_ns,
            Event::ConsentExpired { expired_at_ns, .. } => *expired_at_ns,
            Event::OptedOut(o) | Event::OptedIn(o) => o.at_ns,
            Event::Complaint(c) => c.received_at_ns,
            Event::Decision(d) => d.decided_at_ns,
            Event::ErasureRequested { at_ns, .. } => *at_ns,
            Event::RegionBlocked(b) | Event::RegionUnblocked(b) => b.at_ns,
            Event::RegionPolicySet(p) => p.at_ns,
            Event::Feedback(f) => f.at_ns,
            Event::ComplianceQuery { at_ns, .. } => *at_ns,
        }
    }

    pub fn msisdn(&self) -> &str {
        match self {
            Event::ConsentGranted(c) => &c.msisdn,
            Event::ConsentRevoked { msisdn, .. } | Event::ConsentExpired { msisdn, .. } => msisdn,
            Event::OptedOut(o) | Event::OptedIn(o) => &o.msisdn,
            Event::Complaint(c) => &c.msisdn,
            Event::Decision(d) => &d.msisdn,
            Event::ErasureRequested { msisdn, .. } => msisdn,
            Event::Feedback(f) => &f.msisdn,
            Event::ComplianceQuery { msisdn, .. } => msisdn,
            Event::RegionBlocked(_) | Event::RegionUnblocked(_) | Event::RegionPolicySet(_) => "",
        }
    }

    pub fn enterprise(&self) -> &str {
        match self {
            Event::ConsentGranted(c) => &c.enterprise,
            Event::ConsentRevoked { enterprise, .. } | Event::ConsentExpired { enterprise, .. } => {
                enterprise
            }
            Event::OptedOut(o) | Event::OptedIn(o) => &o.enterprise,
            Event::Complaint(c) => &c.enterprise,
            Event::Decision(d) => &d.enterprise,
            Event::Feedback(f) => &f.enterprise,
            Event::ComplianceQuery { enterprise, .. } => enterprise,
            Event::ErasureRequested { .. } | Event::RegionPolicySet(_) => "",
            Event::RegionBlocked(b) | Event::RegionUnblocked(b) => &b.enterprise,
        }
    }

    /// The consent this record is about, or the one a decision relied on.
    pub fn consent_id(&self) -> Option<&str> {
        match self {
            Event::ConsentGranted(c) => Some(&c.consent_id),
            Event::ConsentRevoked { consent_id, .. } | Event::ConsentExpired { consent_id, .. } => {
                Some(consent_id)
            }
            Event::Decision(d) if !d.consent_id.is_empty() => Some(&d.consent_id),
            _ => None,
        }
    }

    /// (sender_port, message_id) for records that have them.
    pub fn message_key(&self) -> Option<(&str, &str)> {
        match self {
            Event::Complaint(c) => Some((&c.sender_port, &c.message_id)),
            Event::Decision(d) => Some((&d.sender_port, &d.message_id)),
            Event::Feedback(f) => Some((&f.sender_port, &f.message_id)),
            _ => None,
        }
    }

    /// The canonical encoding the record hash covers: serde_json with the fields in declaration
    /// order, no whitespace. Deterministic for a given event.
    pub fn canonical(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}
