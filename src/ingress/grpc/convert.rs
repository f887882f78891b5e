//! Proto <-> domain helpers shared by the registry-side services.

use jiff::Timestamp;
use tonic::Status;

use crate::domain::{Category, CategorySet, Msisdn, OptOutScope};
use crate::proto;
use crate::store::event::{ConsentRow, OptOutRow};

/// `INVALID_ARGUMENT` whose message starts with the field, with the field in metadata too.
pub fn invalid(field: &'static str, message: impl std::fmt::Display) -> Status {
    let mut status = Status::invalid_argument(format!("{field}: {message}"));
    status.metadata_mut().insert(
        "portcullis-field",
        tonic::metadata::MetadataValue::from_static(field),
    );
    status
}

/// The message names the field and the number masked: a status message can end up in a caller's
/// or a dead letter's log, and a malformed number is usually still a subscriber's.
pub fn msisdn(field: &'static str, raw: &str) -> Result<Msisdn, Status> {
    Msisdn::parse(raw).ok_or_else(|| {
        invalid(
            field,
            format!(
                "`{}` is not an 11-digit mainland mobile number",
                Msisdn::mask(raw)
            ),
        )
    })
}

pub fn nanos(t: Timestamp) -> i64 {
    i64::try_from(t.as_nanosecond()).unwrap_or(i64::MAX)
}

pub fn from_proto_ts(field: &'static str, t: &prost_types::Timestamp) -> Result<i64, Status> {
    Timestamp::new(t.seconds, t.nanos)
        .map(nanos)
        .map_err(|_| invalid(field, "not a valid timestamp"))
}

/// An optional request time: unspecified means now (API.md: unspecified = the documented default).
pub fn time_or_now(
    field: &'static str,
    t: &Option<prost_types::Timestamp>,
    now: Timestamp,
) -> Result<i64, Status> {
    match t {
        Some(t) => from_proto_ts(field, t),
        None => Ok(nanos(now)),
    }
}

pub fn to_proto_ts(ns: i64) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: ns.div_euclid(1_000_000_000),
        nanos: ns.rem_euclid(1_000_000_000) as i32,
    }
}

/// A time-ordered id with a readable prefix ("cns-", "opt-", "cmp-").
pub fn new_id(prefix: &str, now: Timestamp) -> String {
    let secs = u64::try_from(now.as_second()).unwrap_or(0);
    let nanos = u32::try_from(now.subsec_nanosecond()).unwrap_or(0);
    format!(
        "{prefix}{}",
        uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos)).simple()
    )
}

pub fn category_from_proto(v: i32) -> Option<Category> {
    match proto::Category::try_from(v).ok()? {
        proto::Category::Verification => Some(Category::Verification),
        proto::Category::Service => Some(Category::Service),
        proto::Category::Marketing => Some(Category::Marketing),
        proto::Category::LoanMarketing => Some(Category::LoanMarketing),
        proto::Category::Collection => Some(Category::Collection),
        proto::Category::FraudSuspect => Some(Category::FraudSuspect),
        proto::Category::Illegal => Some(Category::Illegal),
        proto::Category::Unspecified => None,
    }
}

pub fn categories_to_proto(set: CategorySet) -> Vec<i32> {
    set.iter()
        .map(|c| crate::screening::proto_category(c) as i32)
        .collect()
}

/// Unspecified = COMMERCIAL (API.md `OptOutScope`).
pub fn scope_from_proto(v: i32) -> Result<OptOutScope, Status> {
    match proto::OptOutScope::try_from(v) {
        Ok(proto::OptOutScope::Unspecified | proto::OptOutScope::Commercial) => {
            Ok(OptOutScope::Commercial)
        }
        Ok(proto::OptOutScope::Collection) => Ok(OptOutScope::Collection),
        Err(_) => Err(invalid("scope", format!("unknown opt-out scope {v}"))),
    }
}

pub fn scope_bits(scope: OptOutScope) -> u8 {
    match scope {
        OptOutScope::Commercial => 1,
        OptOutScope::Collection => 2,
    }
}

pub fn scope_to_proto(bits: u8) -> i32 {
    match bits {
        2 => proto::OptOutScope::Collection as i32,
        _ => proto::OptOutScope::Commercial as i32,
    }
}

/// A known channel, or `default` when unspecified.
pub fn channel(v: i32, default: proto::Channel) -> Result<i32, Status> {
    match proto::Channel::try_from(v) {
        Ok(proto::Channel::Unspecified) => Ok(default as i32),
        Ok(c) => Ok(c as i32),
        Err(_) => Err(invalid("channel", format!("unknown channel {v}"))),
    }
}

pub fn consent_record(c: &ConsentRow) -> proto::ConsentRecord {
    proto::ConsentRecord {
        consent_id: c.consent_id.clone(),
        msisdn: c.msisdn.clone(),
        enterprise_id: c.enterprise.clone(),
        channel: c.channel,
        evidence_ref: c.evidence_ref.clone(),
        evidence_sha256: c.evidence_sha256.clone(),
        granted_at: Some(to_proto_ts(c.granted_at_ns)),
        revoked_at: c.revoked_at_ns.map(to_proto_ts),
        scope: categories_to_proto(CategorySet::from_bits(c.scope)),
        recorded_at: Some(to_proto_ts(c.recorded_at_ns)),
        expires_at: c.expires_at_ns.map(to_proto_ts),
    }
}

pub fn opt_out_record(o: &OptOutRow) -> proto::OptOutRecord {
    proto::OptOutRecord {
        record_id: o.record_id.clone(),
        msisdn: o.msisdn.clone(),
        enterprise_id: o.enterprise.clone(),
        scope: scope_to_proto(o.scope),
        channel: o.channel,
        opted_out: o.opted_out,
        at: Some(to_proto_ts(o.at_ns)),
    }
}
