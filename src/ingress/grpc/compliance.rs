//! `Compliance`: what compliance staff ask — "did this subscriber consent, when, with what proof,
//! and what did we send them since" — answered from the audit chain, each record with its seq and
//! hash, and the proof that nothing was edited (`VerifyAudit`).

use std::pin::Pin;

use base64::Engine as _;
use prost::Message as _;
use tonic::{Request, Response, Status};

use super::access::Caller;
use super::convert::*;
use crate::proto::compliance_server::Compliance;
use crate::proto::{self, ConsentEventKind};
use crate::screening::Screener;
use crate::store::audit::Head;
use crate::store::event::Event;
use crate::store::retention::RetentionPolicy;
use crate::store::{DecisionFilter, RegistryStore, StoredEvent};
use std::sync::Arc;

type BoxStream<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send + 'static>>;

/// API.md: `limit` 0 = 1,000.
const DEFAULT_DECISION_LIMIT: u32 = 1000;
const MAX_DECISION_LIMIT: u32 = 100_000;

pub struct ComplianceService {
    store: Arc<dyn RegistryStore>,
    screener: Arc<Screener>,
    consent_months: u32,
    max_months: u32,
}

impl ComplianceService {
    pub fn new(
        store: Arc<dyn RegistryStore>,
        screener: Arc<Screener>,
        consent_months: u32,
        max_months: u32,
    ) -> ComplianceService {
        ComplianceService {
            store,
            screener,
            consent_months,
            max_months,
        }
    }
}

fn range(r: &Option<proto::TimeRange>) -> Result<(Option<i64>, Option<i64>), Status> {
    let Some(r) = r else { return Ok((None, None)) };
    let start = r
        .start
        .as_ref()
        .map(|t| from_proto_ts("range.start", t))
        .transpose()?;
    let end = r
        .end
        .as_ref()
        .map(|t| from_proto_ts("range.end", t))
        .transpose()?;
    if let (Some(s), Some(e)) = (start, end)
        && e < s
    {
        return Err(invalid("range", "end before start"));
    }
    Ok((start, end))
}

/// A range bound as the audit record shows it (RFC 3339), or null when open.
fn ts_json(ns: Option<i64>) -> serde_json::Value {
    ns.and_then(|ns| jiff::Timestamp::from_nanosecond(i128::from(ns)).ok())
        .map_or(serde_json::Value::Null, |t| t.to_string().into())
}

impl ComplianceService {
    /// Records who asked what before anything is answered (RULES.md, PIPL): a query whose record
    /// cannot be committed is refused with the store's status, so no answer goes out unaudited.
    /// Requests that fail validation are not recorded: they disclose nothing.
    async fn audit_query(
        &self,
        caller: &Caller,
        method: &str,
        msisdn: Option<&str>,
        enterprise: Option<&str>,
        filter: serde_json::Value,
    ) -> Result<(), Status> {
        let event = Event::ComplianceQuery {
            client: caller.name.to_string(),
            method: method.to_owned(),
            msisdn: msisdn.unwrap_or_default().to_owned(),
            enterprise: enterprise.unwrap_or_default().to_owned(),
            filter_json: filter.to_string(),
            at_ns: nanos(self.screener.clock().now()),
        };
        self.store
            .commit(vec![event])
            .await
            .map(|_| ())
            .map_err(Status::from)
    }
}

fn non_empty(s: &str) -> Option<&str> {
    let s = s.trim();
    (!s.is_empty()).then_some(s)
}

pub fn consent_event(e: &StoredEvent) -> proto::ConsentEvent {
    let mut out = proto::ConsentEvent {
        seq: e.seq,
        at: Some(to_proto_ts(e.at_ns)),
        hash: e.hash.clone(),
        ..Default::default()
    };
    let kind = match &e.event {
        Some(Event::ConsentGranted(c)) => {
            out.consent = Some(consent_record(c));
            ConsentEventKind::Granted
        }
        Some(Event::ConsentRevoked {
            consent_id,
            msisdn,
            enterprise,
            channel,
            revoked_at_ns,
        }) => {
            out.consent = Some(proto::ConsentRecord {
                consent_id: consent_id.clone(),
                msisdn: msisdn.clone(),
                enterprise_id: enterprise.clone(),
                channel: *channel,
                revoked_at: Some(to_proto_ts(*revoked_at_ns)),
                ..Default::default()
            });
            ConsentEventKind::Revoked
        }
        Some(Event::ConsentExpired {
            consent_id,
            msisdn,
            enterprise,
            ..
        }) => {
            out.consent = Some(proto::ConsentRecord {
                consent_id: consent_id.clone(),
                msisdn: msisdn.clone(),
                enterprise_id: enterprise.clone(),
                ..Default::default()
            });
            ConsentEventKind::Expired
        }
        Some(Event::OptedOut(o)) => {
            out.opt_out = Some(opt_out_record(o));
            ConsentEventKind::OptedOut
        }
        Some(Event::OptedIn(o)) => {
            out.opt_out = Some(opt_out_record(o));
            ConsentEventKind::OptedIn
        }
        Some(Event::Complaint(c)) => {
            out.complaint_id = c.complaint_id.clone();
            ConsentEventKind::Complaint
        }
        Some(Event::ErasureRequested { .. }) => ConsentEventKind::ErasureRequested,
        // A purged record (tombstone), a decision or an operator action: only its place in the chain.
        Some(
            Event::Decision(_)
            | Event::RegionBlocked(_)
            | Event::RegionUnblocked(_)
            | Event::RegionPolicySet(_)
            | Event::Feedback(_)
            | Event::ComplianceQuery { .. },
        )
        | None => match e.kind.as_str() {
            "consent_granted" => ConsentEventKind::Granted,
            "consent_revoked" => ConsentEventKind::Revoked,
            "consent_expired" => ConsentEventKind::Expired,
            "opted_out" => ConsentEventKind::OptedOut,
            "opted_in" => ConsentEventKind::OptedIn,
            "complaint" => ConsentEventKind::Complaint,
            "erasure_requested" => ConsentEventKind::ErasureRequested,
            _ => ConsentEventKind::Unspecified,
        },
    };
    out.kind = kind as i32;
    out
}

pub fn decision_record(e: &StoredEvent) -> Result<proto::DecisionRecord, Status> {
    let mut out = proto::DecisionRecord {
        seq: e.seq,
        decided_at: Some(to_proto_ts(e.at_ns)),
        hash: e.hash.clone(),
        ..Default::default()
    };
    if let Some(Event::Decision(d)) = &e.event {
        let b64 = base64::engine::general_purpose::STANDARD;
        let corrupt = |what: &str| {
            Status::data_loss(format!("audit record {}: {what} is undecodable", e.seq))
        };
        let request = b64.decode(&d.request_pb).map_err(|_| corrupt("request"))?;
        let decision = b64
            .decode(&d.decision_pb)
            .map_err(|_| corrupt("decision"))?;
        out.request =
            Some(proto::ScreenRequest::decode(request.as_slice()).map_err(|_| corrupt("request"))?);
        out.decision =
            Some(proto::Decision::decode(decision.as_slice()).map_err(|_| corrupt("decision"))?);
    }
    Ok(out)
}

#[tonic::async_trait]
impl Compliance for ComplianceService {
    type ConsentHistoryStream = BoxStream<proto::ConsentEvent>;
    type DecisionsStream = BoxStream<proto::DecisionRecord>;

    async fn consent_history(
        &self,
        request: Request<proto::ConsentQuery>,
    ) -> Result<Response<Self::ConsentHistoryStream>, Status> {
        let caller = Caller::of(&request);
        let q = request.into_inner();
        let msisdn_norm = match non_empty(&q.msisdn) {
            Some(raw) => Some(msisdn("msisdn", raw)?.to_string()),
            None => None,
        };
        let enterprise = non_empty(&q.enterprise_id);
        if msisdn_norm.is_none() && enterprise.is_none() {
            return Err(invalid("msisdn", "name a msisdn, an enterprise_id or both"));
        }
        let range = range(&q.range)?;
        let filter = serde_json::json!({
            "msisdn": msisdn_norm,
            "enterprise_id": enterprise,
            "range": {"start": ts_json(range.0), "end": ts_json(range.1)},
        });
        self.audit_query(
            &caller,
            "ConsentHistory",
            msisdn_norm.as_deref(),
            enterprise,
            filter,
        )
        .await?;
        let events = self
            .store
            .registry_events(msisdn_norm.as_deref(), enterprise, range)
            .await
            .map_err(Status::from)?;
        let out: Vec<Result<proto::ConsentEvent, Status>> =
            events.iter().map(|e| Ok(consent_event(e))).collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(out))))
    }

    async fn decisions(
        &self,
        request: Request<proto::DecisionQuery>,
    ) -> Result<Response<Self::DecisionsStream>, Status> {
        let caller = Caller::of(&request);
        let q = request.into_inner();
        let msisdn_norm = match non_empty(&q.msisdn) {
            Some(raw) => Some(msisdn("msisdn", raw)?.to_string()),
            None => None,
        };
        let (from_ns, to_ns) = range(&q.range)?;
        let limit = match q.limit {
            0 => DEFAULT_DECISION_LIMIT,
            n => n.min(MAX_DECISION_LIMIT),
        };
        let filter = DecisionFilter {
            msisdn: msisdn_norm.as_deref(),
            sender_port: non_empty(&q.sender_port),
            message_id: non_empty(&q.message_id),
            enterprise: non_empty(&q.enterprise_id),
            from_ns,
            to_ns,
            limit,
        };
        let filter_json = serde_json::json!({
            "msisdn": filter.msisdn,
            "sender_port": filter.sender_port,
            "message_id": filter.message_id,
            "enterprise_id": filter.enterprise,
            "range": {"start": ts_json(from_ns), "end": ts_json(to_ns)},
            "limit": limit,
        });
        self.audit_query(
            &caller,
            "Decisions",
            filter.msisdn,
            filter.enterprise,
            filter_json,
        )
        .await?;
        let events = self.store.decisions(&filter).await.map_err(Status::from)?;
        let out: Vec<Result<proto::DecisionRecord, Status>> =
            events.iter().map(decision_record).collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(out))))
    }

    async fn request_erasure(
        &self,
        request: Request<proto::ErasureRequest>,
    ) -> Result<Response<proto::ErasureAck>, Status> {
        let r = request.into_inner();
        let m = msisdn("msisdn", &r.msisdn)?;
        if r.operator.trim().is_empty() {
            return Err(invalid("operator", "empty: name who took the request"));
        }
        let now = self.screener.clock().now();
        let policy = RetentionPolicy {
            consent_months: self.consent_months,
            max_months: self.max_months,
            timezone: self.screener.snapshot().policy.timezone.clone(),
        };
        let (erasure_id, held, complete_by) = self
            .store
            .request_erasure(
                &m.to_string(),
                r.reason.trim(),
                r.operator.trim(),
                new_id("era-", now),
                now,
                &policy,
            )
            .await
            .map_err(Status::from)?;
        Ok(Response::new(proto::ErasureAck {
            erasure_id,
            records_held_by_floor: held,
            complete_by: complete_by.map(to_proto_ts),
        }))
    }

    async fn verify_audit(
        &self,
        request: Request<proto::VerifyAuditRequest>,
    ) -> Result<Response<proto::VerifyAuditReport>, Status> {
        let caller = Caller::of(&request);
        let r = request.into_inner();
        let expect = match (r.expect_seq, r.expect_hash.trim()) {
            (0, "") => None,
            (seq, hash) => Some(
                Head::parse(&format!("{seq}:{hash}"))
                    .ok_or_else(|| invalid("expect_hash", "must be 64 hex characters"))?,
            ),
        };
        let filter = serde_json::json!({
            "expect_seq": expect.as_ref().map(|h| h.seq),
            "expect_hash": expect.as_ref().map(|h| h.hash.as_str()),
        });
        self.audit_query(&caller, "VerifyAudit", None, None, filter)
            .await?;
        let report = self
            .store
            .verify(expect.as_ref())
            .await
            .map_err(Status::from)?;
        Ok(Response::new(proto::VerifyAuditReport {
            ok: report.ok,
            records: report.records,
            head_seq: report.head.seq,
            head_hash: report.head.hash,
            first_bad_seq: report.first_bad_seq,
            detail: report.detail,
        }))
    }
}
