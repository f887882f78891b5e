//! The one entry point every ingress calls to screen a message: request validation (API.md
//! "Malformed input"), idempotency and holds, the synchronous pipeline, then the proto `Decision`.
//! Synchronous: the gRPC and Kafka edges call it directly, it never awaits.

use std::cell::RefCell;
use std::sync::Arc;

use arc_swap::ArcSwap;
use base64::Engine as _;
use jiff::Timestamp;
use prost::Message as _;

use crate::clock::Clock;
use crate::config::malformed_smpp_status;
use crate::domain::{Category, Msisdn, stable_hash64};
use crate::idempotency::{IdempotencyStore, MessageKey, Prior, Stored};
use crate::metrics::Metrics;
use crate::pipeline::policy::PolicyConfig;
use crate::pipeline::screen::{self, LiveState, Scratch, Screened, Snapshot, Submission};
use crate::pipeline::verdict::Verdict;
use crate::proto::{self, ReasonCode};
use crate::reassembly::Reassembly;
use crate::smpp::{self, Payload, PayloadError};
use crate::store::IdempotencyRow;
use crate::store::event::{DecisionRow, Event};

mod long_sms;

/// A request no decision can be made for. In `Screen` it is `INVALID_ARGUMENT`; in `ScreenStream`
/// and on Kafka it becomes a REJECT with REASON_MALFORMED naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("message_id: empty")]
    EmptyMessageId,
    #[error("message_id: longer than 128 bytes")]
    MessageIdTooLong,
    #[error("message_id: already used for a different text within the idempotency window")]
    MessageIdReused,
    #[error("sender_port: `{0}` is not a port of 1 to 21 digits")]
    InvalidSenderPort(String),
    /// The number as given, masked (`Msisdn::mask`): this text reaches decisions, dead letters and
    /// possibly logs.
    #[error("msisdn: `{0}` is not an 11-digit mainland mobile number")]
    InvalidMsisdn(String),
    #[error("text: empty, and no raw_payload either")]
    EmptyText,
    #[error("text: {0} characters, more than the {1} allowed")]
    TextTooLong(usize, usize),
    #[error("raw_payload: set together with text; send one of them")]
    TextAndPayload,
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error("udhi: set, but there is no raw_payload for a UDH to begin")]
    UdhiWithoutPayload,
    #[error("concat: {0}")]
    InvalidConcat(&'static str),
    #[error("concat: {0}")]
    ConcatConflict(String),
}

impl RequestError {
    /// The request field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            RequestError::EmptyMessageId
            | RequestError::MessageIdTooLong
            | RequestError::MessageIdReused => "message_id",
            RequestError::InvalidSenderPort(_) => "sender_port",
            RequestError::InvalidMsisdn(_) => "msisdn",
            RequestError::EmptyText | RequestError::TextTooLong(..) => "text",
            RequestError::TextAndPayload => "raw_payload",
            RequestError::Payload(e) => e.field(),
            RequestError::UdhiWithoutPayload => "udhi",
            RequestError::InvalidConcat(_) | RequestError::ConcatConflict(_) => "concat",
        }
    }

    /// A stable machine-readable cause (gRPC metadata `portcullis-reason`, Kafka dead-letter header).
    pub fn reason(&self) -> &'static str {
        match self {
            RequestError::EmptyMessageId => "EMPTY_MESSAGE_ID",
            RequestError::MessageIdTooLong => "MESSAGE_ID_TOO_LONG",
            RequestError::MessageIdReused => "MESSAGE_ID_REUSED",
            RequestError::InvalidSenderPort(_) => "INVALID_SENDER_PORT",
            RequestError::InvalidMsisdn(_) => "INVALID_MSISDN",
            RequestError::EmptyText => "EMPTY_TEXT",
            RequestError::TextTooLong(..) => "TEXT_TOO_LONG",
            RequestError::TextAndPayload => "TEXT_AND_PAYLOAD",
            RequestError::Payload(e) => e.reason(),
            RequestError::UdhiWithoutPayload => "UDHI_WITHOUT_PAYLOAD",
            RequestError::InvalidConcat(_) => "INVALID_CONCAT",
            RequestError::ConcatConflict(_) => "CONCAT_CONFLICT",
        }
    }
}

impl From<RequestError> for tonic::Status {
    fn from(e: RequestError) -> tonic::Status {
        let mut status = tonic::Status::invalid_argument(e.to_string());
        let md = status.metadata_mut();
        md.insert(
            "portcullis-reason",
            tonic::metadata::MetadataValue::from_static(e.reason()),
        );
        md.insert(
            "portcullis-field",
            tonic::metadata::MetadataValue::from_static(e.field()),
        );
        status
    }
}

/// What a screen leaves for the store: the final decision's idempotency row and, for the
/// decisions RULES.md names, the audit record.
#[derive(Debug, Default)]
pub struct Persist {
    pub idempotency: Vec<IdempotencyRow>,
    pub audit: Vec<Event>,
}

impl Persist {
    pub fn is_empty(&self) -> bool {
        self.idempotency.is_empty() && self.audit.is_empty()
    }
}

/// What the screening knew beyond the proto Decision.
#[derive(Debug, Default)]
struct DecisionFacts {
    category: Option<Category>,
    dup_hash: u64,
    fingerprint: u128,
    emergency: bool,
    enterprise: String,
}

/// RULES.md "decision audit": every decision of a commercial or collection category, every REJECT
/// and HOLD, every emergency release; releases of verification and service are counted only
/// (unless `audit.decisions = "all"`). The text of a verification code is never stored either way.
fn audited(decision: &proto::Decision, facts: &DecisionFacts) -> bool {
    facts.emergency
        || decision.verdict != proto::Verdict::Release as i32
        || decision.monitored_verdict != proto::Verdict::Unspecified as i32
        || matches!(
            facts.category,
            Some(Category::Marketing | Category::LoanMarketing | Category::Collection)
        )
}

/// The audit record of a decision; `request` is what the audit keeps as submitted.
fn audit_event(
    mut request: proto::ScreenRequest,
    msisdn: Msisdn,
    decision: &proto::Decision,
    facts: &DecisionFacts,
    now: Timestamp,
) -> Event {
    // The text of a verification code is never stored (RULES.md).
    if facts.category == Some(Category::Verification) {
        request.text.clear();
        request.raw_payload.clear();
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    Event::Decision(DecisionRow {
        decision_id: decision.decision_id.clone(),
        decided_at_ns: i64::try_from(now.as_nanosecond()).unwrap_or(i64::MAX),
        msisdn: msisdn.to_string(),
        sender_port: request.sender_port.trim().to_owned(),
        message_id: request.message_id.clone(),
        enterprise: facts.enterprise.clone(),
        consent_id: decision.consent_id.clone(),
        request_pb: b64.encode(request.encode_to_vec()),
        decision_pb: b64.encode(decision.encode_to_vec()),
    })
}

/// Longest message_id kept (it is stored per decision).
const MAX_MESSAGE_ID_BYTES: usize = 128;
/// Longest concatenated message (API.md: total > 16 is malformed).
const MAX_CONCAT_PARTS: u32 = 16;

/// A request's message as submitted: UTF-8 text, or an SMPP payload still to be decoded.
#[derive(Debug, Clone, Copy)]
pub enum Body<'r> {
    Text(&'r str),
    Raw(Payload<'r>),
}

impl<'r> Body<'r> {
    /// The coding (`None` for text) and the bytes, as a part of a long message is held.
    pub fn coded_bytes(self) -> (Option<smpp::DataCoding>, &'r [u8]) {
        match self {
            Body::Text(text) => (None, text.as_bytes()),
            Body::Raw(payload) => (Some(payload.coding), payload.body),
        }
    }
}

/// Which part of a long message a request carries (total > 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartOf {
    pub reference: u32,
    pub total: u8,
    pub seq: u8,
}

/// A request that passed validation, borrowing its fields.
#[derive(Debug, Clone, Copy)]
pub struct Checked<'r> {
    pub message_id: &'r str,
    pub sender_port: &'r str,
    pub msisdn: Msisdn,
    pub dry_run: bool,
    pub body: Body<'r>,
    pub part: Option<PartOf>,
    /// The idempotency hash of what was submitted under `message_id`.
    pub text_hash: u64,
}

/// Checks a request: its identity fields, the body (text, or a raw payload's data coding and UDH)
/// and the concatenation, which the UDH gives when there is one.
pub fn validate(
    req: &proto::ScreenRequest,
    max_text_chars: usize,
) -> Result<Checked<'_>, RequestError> {
    if req.message_id.is_empty() {
        return Err(RequestError::EmptyMessageId);
    }
    if req.message_id.len() > MAX_MESSAGE_ID_BYTES {
        return Err(RequestError::MessageIdTooLong);
    }
    let port = req.sender_port.trim();
    if port.is_empty() || port.len() > 21 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RequestError::InvalidSenderPort(truncate_for_error(
            &req.sender_port,
        )));
    }
    let msisdn = Msisdn::parse(&req.msisdn)
        .ok_or_else(|| RequestError::InvalidMsisdn(Msisdn::mask(&req.msisdn)))?;
    let (body, text_hash) = match (req.text.is_empty(), req.raw_payload.is_empty()) {
        (true, true) => return Err(RequestError::EmptyText),
        (false, false) => return Err(RequestError::TextAndPayload),
        (false, true) => {
            if req.udhi {
                return Err(RequestError::UdhiWithoutPayload);
            }
            check_text(&req.text, max_text_chars)?;
            (Body::Text(&req.text), stable_hash64(req.text.as_bytes()))
        }
        (true, false) => {
            let payload = smpp::split(&req.raw_payload, req.data_coding, req.udhi)?;
            // The same octets mean another text in another coding or with the header read.
            let salt = u64::from(req.data_coding) << 1 | u64::from(req.udhi);
            (
                Body::Raw(payload),
                stable_hash64(&req.raw_payload).rotate_left(9) ^ salt,
            )
        }
    };
    let from_udh = match body {
        Body::Raw(p) => p.concat.map(|c| proto::Concat {
            reference: u32::from(c.reference),
            total: u32::from(c.total),
            seq: u32::from(c.seq),
        }),
        Body::Text(_) => None,
    };
    let concat = match (from_udh, req.concat) {
        (Some(udh), Some(given)) if udh != given => {
            return Err(RequestError::ConcatConflict(format!(
                "the UDH says reference {} part {} of {}, the concat field reference {} part {} of {}",
                udh.reference, udh.seq, udh.total, given.reference, given.seq, given.total
            )));
        }
        (Some(c), _) | (None, Some(c)) => Some(c),
        (None, None) => None,
    };
    let part = match concat {
        None => None,
        Some(c) => check_concat(c)?,
    };
    Ok(Checked {
        message_id: &req.message_id,
        sender_port: port,
        msisdn,
        dry_run: req.dry_run,
        body,
        part,
        text_hash,
    })
}

/// A text to screen (one message, a part, or a decoded payload) is not blank and not too long.
fn check_text(text: &str, max_text_chars: usize) -> Result<(), RequestError> {
    if text.trim().is_empty() {
        return Err(RequestError::EmptyText);
    }
    // Bytes bound characters from above, so most texts skip the count.
    if text.len() > max_text_chars {
        let chars = text.chars().count();
        if chars > max_text_chars {
            return Err(RequestError::TextTooLong(chars, max_text_chars));
        }
    }
    Ok(())
}

/// `None` for a "long message" of one part, which is screened as a single message.
fn check_concat(c: proto::Concat) -> Result<Option<PartOf>, RequestError> {
    if c.total == 0 || c.seq == 0 {
        return Err(RequestError::InvalidConcat("seq and total start at 1"));
    }
    if c.seq > c.total {
        return Err(RequestError::InvalidConcat("seq is greater than total"));
    }
    if c.total > MAX_CONCAT_PARTS {
        return Err(RequestError::InvalidConcat("total is greater than 16"));
    }
    if c.total == 1 {
        return Ok(None);
    }
    Ok(Some(PartOf {
        reference: c.reference,
        // Both are at most 16 here.
        total: u8::try_from(c.total).unwrap_or(u8::MAX),
        seq: u8::try_from(c.seq).unwrap_or(u8::MAX),
    }))
}

/// Decodes a single message's payload and checks the text like a `text` field.
fn decode_payload(payload: Payload<'_>, max_text_chars: usize) -> Result<String, RequestError> {
    let mut text = String::new();
    smpp::decode_into(payload.coding, payload.body, &mut text)?;
    check_text(&text, max_text_chars)?;
    Ok(text)
}

fn truncate_for_error(s: &str) -> String {
    s.chars().take(32).collect()
}

thread_local! {
    /// Per worker thread, so screening reuses its buffers without a lock.
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Screening state shared by every ingress.
pub struct Screener {
    snapshot: ArcSwap<Snapshot>,
    live: LiveState,
    idempotency: IdempotencyStore,
    reassembly: Reassembly,
    /// `concat.timeout_secs`: how long the parts of a long message wait for each other.
    concat_timeout_secs: u32,
    clock: Arc<dyn Clock>,
    metrics: Metrics,
}

impl Screener {
    pub fn new(
        snapshot: Snapshot,
        live: LiveState,
        clock: Arc<dyn Clock>,
        metrics: Metrics,
    ) -> Screener {
        metrics.generation.set(snapshot.generation as f64);
        metrics.senders.set(snapshot.senders.len() as f64);
        Screener {
            snapshot: ArcSwap::from_pointee(snapshot),
            live,
            idempotency: IdempotencyStore::default(),
            reassembly: Reassembly::default(),
            concat_timeout_secs: 60,
            clock,
            metrics,
        }
    }

    /// Long-SMS reassembly settings (`[concat]`; they need a restart to change).
    pub fn with_long_sms(mut self, timeout_secs: u32, max_pending_parts: usize) -> Screener {
        self.concat_timeout_secs = timeout_secs;
        self.reassembly = Reassembly::new(max_pending_parts);
        self
    }

    pub fn snapshot(&self) -> arc_swap::Guard<Arc<Snapshot>> {
        self.snapshot.load()
    }

    /// Publishes a new snapshot; screens in flight finish on the one they loaded.
    pub fn replace_snapshot(&self, mut snapshot: Snapshot) -> u64 {
        let generation = self.snapshot.load().generation + 1;
        snapshot.generation = generation;
        self.metrics.generation.set(generation as f64);
        self.metrics.senders.set(snapshot.senders.len() as f64);
        self.snapshot.store(Arc::new(snapshot));
        generation
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The campaign fingerprint of a complaint's message: the decided message it names, else the
    /// complained text itself when it has enough of one (12321 reports carry the SMS).
    pub fn complaint_fingerprint(&self, sender_port: &str, message_id: &str, text: &str) -> u128 {
        if !message_id.is_empty()
            && let Some(fp) = self
                .idempotency
                .fingerprint(MessageKey::new(sender_port, message_id))
        {
            return fp;
        }
        if text.chars().count() < 10 {
            return 0;
        }
        let snap = self.snapshot();
        let mut norm = crate::pipeline::normalize::NormalizedText::default();
        snap.normalizer.normalize_into(text, &mut norm);
        crate::pipeline::classify::features::with_scratch(|s| {
            crate::pipeline::classify::fingerprint::simhash(&norm, s)
        })
    }

    pub fn live(&self) -> &LiveState {
        &self.live
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Screens one request. `Err` means no decision could be made (malformed input). The returned
    /// `Persist` is what the caller must hand to the store (idempotency rows, audit records).
    pub fn screen(
        &self,
        req: &proto::ScreenRequest,
    ) -> Result<(proto::Decision, Persist), RequestError> {
        let snap = self.snapshot.load();
        let checked = validate(req, snap.policy.max_text_chars)
            .inspect_err(|e| self.metrics.malformed(e.field()))?;
        let now = self.clock.now();
        if !checked.dry_run {
            let key = MessageKey::new(checked.sender_port, checked.message_id);
            match self
                .idempotency
                .prior(key, checked.text_hash, now.as_second())
            {
                Prior::Decided(decision) => {
                    return Ok((decision.as_ref().clone(), Persist::default()));
                }
                Prior::TextChanged => {
                    self.metrics.malformed("message_id");
                    return Err(RequestError::MessageIdReused);
                }
                Prior::None => {}
            }
        }
        if let Some(part) = checked.part {
            return self.screen_part(&snap, req, &checked, part, now);
        }
        let decoded;
        let (text, segments) = match checked.body {
            Body::Text(text) => (text, None),
            Body::Raw(payload) => {
                decoded = decode_payload(payload, snap.policy.max_text_chars)
                    .inspect_err(|e| self.metrics.malformed(e.field()))?;
                let billed = smpp::body_segments(payload.coding, payload.body).count;
                (decoded.as_str(), Some(billed))
            }
        };
        let parts = [(checked.message_id, checked.text_hash)];
        let audit_request = || match checked.body {
            // Compliance reads the decoded text beside the octets as submitted.
            Body::Raw(_) => proto::ScreenRequest {
                text: text.to_owned(),
                ..req.clone()
            },
            Body::Text(_) => req.clone(),
        };
        Ok(self.screen_text(&snap, &checked, text, segments, &parts, audit_request, now))
    }

    /// Screens `text` (one message, or a long message reassembled from `parts`) and keeps the
    /// decision for every part's message id.
    #[allow(clippy::too_many_arguments)]
    fn screen_text(
        &self,
        snap: &Snapshot,
        checked: &Checked<'_>,
        text: &str,
        segments: Option<u32>,
        parts: &[(&str, u64)],
        audit_request: impl FnOnce() -> proto::ScreenRequest,
        now: Timestamp,
    ) -> (proto::Decision, Persist) {
        let sub = Submission {
            message_id: checked.message_id,
            sender_port: checked.sender_port,
            msisdn: checked.msisdn,
            text,
            dry_run: checked.dry_run,
            segments,
        };
        let started = std::time::Instant::now();
        let (mut decision, facts) = SCRATCH.with_borrow_mut(|scratch| {
            let screened = screen::screen(snap, &self.live, &sub, now, scratch);
            self.record_metrics(&snap.policy, &screened, scratch);
            let facts = DecisionFacts {
                category: screened.category,
                dup_hash: screened.dup_hash,
                fingerprint: screened.fingerprint,
                emergency: screened.emergency,
                enterprise: screened
                    .sender
                    .map(|s| s.enterprise.to_string())
                    .unwrap_or_default(),
            };
            (to_proto(snap, &sub, &screened, scratch, now), facts)
        });
        self.metrics
            .screen_duration
            .record(started.elapsed().as_secs_f64());
        if parts.len() > 1 {
            decision.part_message_ids = parts.iter().map(|(id, _)| (*id).to_owned()).collect();
        }
        if checked.dry_run {
            return (decision, Persist::default());
        }
        self.metrics.segments(decision.verdict, decision.segments);
        let mut persist = Persist::default();
        if snap.policy.audit_all_decisions || audited(&decision, &facts) {
            persist.audit.push(audit_event(
                audit_request(),
                checked.msisdn,
                &decision,
                &facts,
                now,
            ));
        }
        let decision = self.keep(
            snap,
            checked.sender_port,
            checked.msisdn,
            parts,
            decision,
            &facts,
            now,
            &mut persist,
        );
        (decision, persist)
    }

    /// Keeps `decision` for every message id it answers: a HOLD until its `hold_until`, a final
    /// decision for the idempotency window (and in the store). Returns the decision as answered to
    /// the message id it carries.
    #[allow(clippy::too_many_arguments)]
    fn keep(
        &self,
        snap: &Snapshot,
        sender_port: &str,
        msisdn: Msisdn,
        parts: &[(&str, u64)],
        decision: proto::Decision,
        facts: &DecisionFacts,
        now: Timestamp,
        persist: &mut Persist,
    ) -> proto::Decision {
        let now_s = now.as_second();
        let hold = decision.verdict == proto::Verdict::Hold as i32;
        let until = if hold {
            decision.hold_until.as_ref().map_or(now_s, |t| t.seconds)
        } else {
            now_s + snap.policy.idempotency_ttl_secs
        };
        let decision = Arc::new(decision);
        for &(message_id, text_hash) in parts {
            let mine = if message_id == decision.message_id {
                Arc::clone(&decision)
            } else {
                Arc::new(proto::Decision {
                    message_id: message_id.to_owned(),
                    ..decision.as_ref().clone()
                })
            };
            let key = MessageKey::new(sender_port, message_id);
            if !hold {
                persist.idempotency.push(IdempotencyRow {
                    sender_port: sender_port.to_owned(),
                    message_id: message_id.to_owned(),
                    verdict: mine.verdict,
                    decision_id: mine.decision_id.clone(),
                    text_hash,
                    until_s: until,
                    decided_at_s: now_s,
                    msisdn: msisdn.as_u64(),
                    enterprise: facts.enterprise.clone(),
                    category: facts.category.map_or(0, |c| c.index() as u8 + 1),
                    dup_hash: facts.dup_hash,
                    decision: mine.encode_to_vec(),
                });
            }
            let stored = Stored {
                decision: mine,
                text_hash,
                until,
                fingerprint: facts.fingerprint,
            };
            if hold {
                self.idempotency.store_hold(key, stored);
            } else {
                self.idempotency.store_final(key, stored);
            }
        }
        Arc::unwrap_or_clone(decision)
    }

    /// Rebuilds idempotency, duplicate and frequency state from the stored final decisions (oldest
    /// first), so a restart does not forget what was released today.
    pub fn restore(&self, rows: &[IdempotencyRow]) -> usize {
        let snap = self.snapshot.load();
        let cfg = &snap.policy;
        let now = self.clock.now();
        let today = crate::pipeline::policy::quiet_hours::local_day(now, cfg);
        let mut restored = 0;
        for row in rows {
            let Ok(decision) = proto::Decision::decode(row.decision.as_slice()) else {
                continue;
            };
            let key = MessageKey::new(&row.sender_port, &row.message_id);
            self.idempotency.store_final(
                key,
                Stored {
                    decision: Arc::new(decision),
                    text_hash: row.text_hash,
                    until: row.until_s,
                    fingerprint: 0,
                },
            );
            restored += 1;
            let released = row.verdict == proto::Verdict::Release as i32;
            let category = row
                .category
                .checked_sub(1)
                .and_then(|i| Category::ALL.get(usize::from(i)).copied());
            let (Some(msisdn), Some(category)) = (Msisdn::from_u64(row.msisdn), category) else {
                continue;
            };
            if !released || row.enterprise.is_empty() {
                continue;
            }
            let at = Timestamp::from_second(row.decided_at_s).unwrap_or(now);
            if cfg.commercial.contains(category)
                && crate::pipeline::policy::quiet_hours::local_day(at, cfg) == today
            {
                self.live
                    .frequency
                    .try_count(msisdn, &row.enterprise, today, 0);
            }
            if category != Category::Verification {
                self.live.duplicates.try_remember(
                    msisdn,
                    &row.enterprise,
                    row.dup_hash,
                    row.decided_at_s,
                    cfg.duplicate_window_secs,
                );
            }
        }
        self.metrics
            .idempotency_entries
            .set(self.idempotency.finals_len() as f64);
        restored
    }

    /// The REJECT MALFORMED decision a stream (or Kafka) answers for a request that cannot be screened.
    pub fn malformed_decision(
        &self,
        req: &proto::ScreenRequest,
        err: &RequestError,
    ) -> proto::Decision {
        let snap = self.snapshot.load();
        let field_is_msisdn = matches!(err, RequestError::InvalidMsisdn(_));
        self.metrics
            .decision(Verdict::Reject, Some(ReasonCode::ReasonMalformed), None);
        proto::Decision {
            message_id: req.message_id.clone(),
            verdict: proto::Verdict::Reject as i32,
            reasons: vec![proto::Reason {
                code: ReasonCode::ReasonMalformed as i32,
                detail: err.to_string(),
            }],
            smpp_status: malformed_smpp_status(&snap.policy, field_is_msisdn),
            ..Default::default()
        }
    }

    /// Drops expired idempotency entries and counters of past days and windows.
    pub fn sweep(&self) {
        let now = self.clock.now();
        let snap = self.snapshot.load();
        let now_s = now.as_second();
        self.idempotency
            .sweep(now_s, snap.policy.idempotency_ttl_secs);
        self.live
            .frequency
            .sweep(crate::pipeline::policy::quiet_hours::local_day(
                now,
                &snap.policy,
            ));
        self.live
            .duplicates
            .sweep(now_s, snap.policy.duplicate_window_secs);
        self.metrics
            .idempotency_entries
            .set(self.idempotency.finals_len() as f64);
        self.metrics
            .held_entries
            .set(self.idempotency.holds_len() as f64);
    }

    /// `policy` is the one the message was screened with (a reload may have swapped it since).
    fn record_metrics(&self, policy: &PolicyConfig, screened: &Screened<'_>, scratch: &Scratch) {
        let outcome = &screened.outcome;
        let enforced_reason = if outcome.verdict == Verdict::Release {
            None
        } else {
            outcome.deciding
        };
        self.metrics
            .decision(outcome.verdict, enforced_reason, screened.category);
        if outcome.monitored_verdict.is_some() {
            for f in &scratch.findings {
                if policy.monitor_all || policy.monitored[f.code as usize] {
                    self.metrics.monitor_override(f.code);
                }
            }
        }
    }
}

fn proto_verdict(v: Verdict) -> proto::Verdict {
    match v {
        Verdict::Release => proto::Verdict::Release,
        Verdict::Hold => proto::Verdict::Hold,
        Verdict::Reject => proto::Verdict::Reject,
    }
}

pub fn proto_category(c: Category) -> proto::Category {
    match c {
        Category::Verification => proto::Category::Verification,
        Category::Service => proto::Category::Service,
        Category::Marketing => proto::Category::Marketing,
        Category::LoanMarketing => proto::Category::LoanMarketing,
        Category::Collection => proto::Category::Collection,
        Category::FraudSuspect => proto::Category::FraudSuspect,
        Category::Illegal => proto::Category::Illegal,
    }
}

pub fn proto_timestamp(t: Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.as_second(),
        nanos: t.subsec_nanosecond(),
    }
}

/// A time-ordered id (UUID v7 from policy time), so audit keys sort by decision time.
fn decision_id(now: Timestamp) -> String {
    let secs = u64::try_from(now.as_second()).unwrap_or(0);
    let nanos = u32::try_from(now.subsec_nanosecond()).unwrap_or(0);
    uuid::Uuid::new_v7(uuid::Timestamp::from_unix(uuid::NoContext, secs, nanos)).to_string()
}

/// The symbol a monitored rule reports: it fired, but counted for nothing.
const MONITOR_SUFFIX: &str = ":monitor";

fn to_proto(
    snap: &Snapshot,
    sub: &Submission<'_>,
    screened: &Screened<'_>,
    scratch: &Scratch,
    now: Timestamp,
) -> proto::Decision {
    let outcome = &screened.outcome;
    let mut symbols: Vec<String> = scratch
        .class
        .symbols
        .iter()
        .map(|s| snap.rules.symbol_name(*s).to_owned())
        .collect();
    symbols.extend(
        scratch
            .class
            .monitored_symbols
            .iter()
            .map(|s| format!("{}{MONITOR_SUFFIX}", snap.rules.symbol_name(*s))),
    );
    if let Some(model) = &scratch.class.model {
        let suffix = if model.monitored { MONITOR_SUFFIX } else { "" };
        symbols.extend(model.symbols().map(|s| format!("{s}{suffix}")));
    }
    if scratch.class.complained_campaign {
        symbols.push("FUZZY_COMPLAINED".to_owned());
    }
    if screened.emergency {
        symbols.push("EMERGENCY_SENDER".to_owned());
    }
    proto::Decision {
        message_id: sub.message_id.to_owned(),
        verdict: proto_verdict(outcome.verdict) as i32,
        reasons: scratch
            .findings
            .iter()
            .map(|f| proto::Reason {
                code: f.code as i32,
                detail: f.detail.clone(),
            })
            .collect(),
        category: screened
            .category
            .map_or(proto::Category::Unspecified, proto_category) as i32,
        spam_score: scratch.class.spam_score.clamp(0.0, 1.0),
        symbols,
        region: screened
            .region
            .map(|r| r.label.to_owned())
            .unwrap_or_default(),
        consent_id: screened
            .consent_id
            .as_deref()
            .map(str::to_owned)
            .unwrap_or_default(),
        hold_until: outcome.hold_until.map(proto_timestamp),
        decision_id: if sub.dry_run {
            String::new()
        } else {
            decision_id(now)
        },
        monitored_verdict: outcome
            .monitored_verdict
            .map_or(proto::Verdict::Unspecified, proto_verdict) as i32,
        segments: screened.segments.count,
        smpp_status: screened.smpp_status,
        part_message_ids: Vec::new(),
        enterprise_id: screened
            .sender
            .map(|s| s.enterprise.to_string())
            .unwrap_or_default(),
        carrier: screened
            .region
            .map(|r| r.carrier.to_owned())
            .unwrap_or_default(),
    }
}
