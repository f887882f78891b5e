//! `Registry` and `Complaints`: the writes that keep consents and opt-outs current. Every RPC is
//! answered only after its events are committed to the store (and applied to the hot-path
//! indexes), so an acknowledged write survives `kill -9`.

use std::sync::Arc;

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::convert::*;
use crate::domain::{CategorySet, OptOutScope};
use crate::proto::complaints_server::Complaints;
use crate::proto::registry_server::Registry;
use crate::proto::{self, Channel};
use crate::registry::DEFAULT_CONSENT_SCOPE;
use crate::registry::reply::{self, ReplyIntent};
use crate::screening::Screener;
use crate::store::RegistryStore;
use crate::store::event::{ComplaintRow, ConsentRow, Event, OptOutRow};

/// Clock skew tolerated on times a client says are not in the future.
const FUTURE_SKEW_NS: i64 = 300 * 1_000_000_000;
/// Rows of an import committed per transaction.
const IMPORT_BATCH: usize = 2000;
/// ImportSummary lists at most this many errors (API.md).
const IMPORT_MAX_ERRORS: usize = 1000;
const MAX_ENTERPRISE_ID: usize = 64;

pub struct RegistryService {
    screener: Arc<Screener>,
    store: Arc<dyn RegistryStore>,
}

impl RegistryService {
    pub fn new(screener: Arc<Screener>, store: Arc<dyn RegistryStore>) -> RegistryService {
        RegistryService { screener, store }
    }

    fn now(&self) -> jiff::Timestamp {
        self.screener.clock().now()
    }

    /// Validates an opt-out or opt-in request into the row it records.
    /// (An OptInRequest has the same fields and is converted to this shape.)
    fn opt_out_row(
        &self,
        r: &proto::OptOutRequest,
        opted_out: bool,
        default_channel: Channel,
    ) -> Result<OptOutRow, Status> {
        let now = self.now();
        let m = msisdn("msisdn", &r.msisdn)?;
        let enterprise = enterprise_id(&r.enterprise_id, Required::No)?;
        let scope = scope_from_proto(r.scope)?;
        if enterprise.is_empty() && scope == OptOutScope::Collection {
            return Err(invalid(
                "scope",
                "a carrier-level (empty enterprise_id) refusal covers commercial traffic only; collection opt-outs name the enterprise",
            ));
        }
        let at_ns = time_or_now("at", &r.at, now)?;
        Ok(OptOutRow {
            record_id: new_id("opt-", now),
            msisdn: m.to_string(),
            enterprise: enterprise.to_owned(),
            scope: scope_bits(scope),
            opted_out,
            channel: channel(r.channel, default_channel)?,
            at_ns,
        })
    }

    async fn commit(&self, events: Vec<Event>) -> Result<(), Status> {
        self.store
            .commit(events)
            .await
            .map(|_| ())
            .map_err(Status::from)
    }
}

#[derive(PartialEq)]
enum Required {
    Yes,
    /// Empty means every enterprise (a carrier-level refusal).
    No,
}

fn enterprise_id(raw: &str, required: Required) -> Result<&str, Status> {
    let enterprise = raw.trim();
    if enterprise.is_empty() && required == Required::Yes {
        return Err(invalid(
            "enterprise_id",
            "empty: consents are given to one enterprise",
        ));
    }
    if enterprise.len() > MAX_ENTERPRISE_ID {
        return Err(invalid("enterprise_id", "longer than 64 bytes"));
    }
    Ok(enterprise)
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[tonic::async_trait]
impl Registry for RegistryService {
    async fn record_consent(
        &self,
        request: Request<proto::RecordConsentRequest>,
    ) -> Result<Response<proto::ConsentRecord>, Status> {
        let req = request.into_inner();
        let now = self.now();
        let m = msisdn("msisdn", &req.msisdn)?;
        let enterprise = enterprise_id(&req.enterprise_id, Required::Yes)?;
        if req.evidence_ref.trim().is_empty() {
            return Err(invalid(
                "evidence_ref",
                "empty: say where the proof of consent is kept",
            ));
        }
        if !is_sha256_hex(req.evidence_sha256.trim()) {
            return Err(invalid(
                "evidence_sha256",
                "must be 64 hex characters (SHA-256 of the proof)",
            ));
        }
        let granted_at_ns = time_or_now("granted_at", &req.granted_at, now)?;
        if granted_at_ns > nanos(now) + FUTURE_SKEW_NS {
            return Err(invalid("granted_at", "in the future"));
        }
        let expires_at_ns = match &req.expires_at {
            Some(t) => {
                let e = from_proto_ts("expires_at", t)?;
                if e <= granted_at_ns {
                    return Err(invalid("expires_at", "not after granted_at"));
                }
                Some(e)
            }
            None => None,
        };
        let mut scope = CategorySet::EMPTY;
        for (i, v) in req.scope.iter().enumerate() {
            match category_from_proto(*v) {
                Some(c)
                    if !matches!(
                        c,
                        crate::domain::Category::FraudSuspect | crate::domain::Category::Illegal
                    ) =>
                {
                    scope.insert(c)
                }
                _ => {
                    return Err(invalid(
                        "scope",
                        format!("entry {i}: {v} is not a category a subscriber can consent to"),
                    ));
                }
            }
        }
        if scope.is_empty() {
            scope = CategorySet::of(&DEFAULT_CONSENT_SCOPE);
        }
        let row = ConsentRow {
            consent_id: new_id("cns-", now),
            msisdn: m.to_string(),
            enterprise: enterprise.to_owned(),
            channel: channel(req.channel, Channel::Api)?,
            evidence_ref: req.evidence_ref.trim().to_owned(),
            evidence_sha256: req.evidence_sha256.trim().to_ascii_lowercase(),
            scope: scope.bits(),
            granted_at_ns,
            expires_at_ns,
            revoked_at_ns: None,
            recorded_at_ns: nanos(now),
        };
        let record = consent_record(&row);
        self.commit(vec![Event::ConsentGranted(row)]).await?;
        Ok(Response::new(record))
    }

    async fn revoke_consent(
        &self,
        request: Request<proto::RevokeConsentRequest>,
    ) -> Result<Response<proto::ConsentRecord>, Status> {
        let req = request.into_inner();
        let now = self.now();
        let m = msisdn("msisdn", &req.msisdn)?;
        let enterprise = enterprise_id(&req.enterprise_id, Required::Yes)?;
        let revoked_at_ns = time_or_now("revoked_at", &req.revoked_at, now)?;
        let channel_v = channel(req.channel, Channel::Api)?;
        let in_force: Vec<ConsentRow> = self
            .store
            .consents_for(&m.to_string(), enterprise)
            .await
            .map_err(Status::from)?
            .into_iter()
            .filter(|c| req.consent_id.is_empty() || c.consent_id == req.consent_id)
            .filter(|c| {
                c.revoked_at_ns.is_none() && c.expires_at_ns.is_none_or(|e| revoked_at_ns < e)
            })
            .collect();
        let Some(last) = in_force.last().cloned() else {
            return Err(Status::not_found(format!(
                "no consent in force for {} and {enterprise}{}",
                m.masked(),
                if req.consent_id.is_empty() {
                    String::new()
                } else {
                    format!(" with id {}", req.consent_id)
                }
            )));
        };
        let events = in_force
            .iter()
            .map(|c| Event::ConsentRevoked {
                consent_id: c.consent_id.clone(),
                msisdn: c.msisdn.clone(),
                enterprise: c.enterprise.clone(),
                channel: channel_v,
                revoked_at_ns,
            })
            .collect();
        self.commit(events).await?;
        let mut revoked = last;
        revoked.revoked_at_ns = Some(revoked_at_ns);
        Ok(Response::new(consent_record(&revoked)))
    }

    async fn opt_out(
        &self,
        request: Request<proto::OptOutRequest>,
    ) -> Result<Response<proto::OptOutRecord>, Status> {
        let r = request.into_inner();
        let row = self.opt_out_row(&r, true, Channel::Api)?;
        let record = opt_out_record(&row);
        self.commit(vec![Event::OptedOut(row)]).await?;
        Ok(Response::new(record))
    }

    async fn opt_in(
        &self,
        request: Request<proto::OptInRequest>,
    ) -> Result<Response<proto::OptOutRecord>, Status> {
        let r = request.into_inner();
        let as_request = proto::OptOutRequest {
            msisdn: r.msisdn,
            enterprise_id: r.enterprise_id,
            scope: r.scope,
            channel: r.channel,
            at: r.at,
        };
        let row = self.opt_out_row(&as_request, false, Channel::Api)?;
        let record = opt_out_record(&row);
        self.commit(vec![Event::OptedIn(row)]).await?;
        Ok(Response::new(record))
    }

    async fn handle_reply(
        &self,
        request: Request<proto::MoReply>,
    ) -> Result<Response<proto::ReplyOutcome>, Status> {
        let r = request.into_inner();
        let now = self.now();
        let m = msisdn("msisdn", &r.msisdn)?;
        let snap = self.screener.snapshot();
        let Some(sender) = snap.senders.lookup(r.sender_port.trim()) else {
            return Err(Status::not_found(format!(
                "sender_port: {} is not in the sender registry",
                r.sender_port
            )));
        };
        let intent = reply::interpret(&snap.normalizer, &r.text);
        let Some(scope) = reply::scope_for(sender, intent) else {
            return Ok(Response::new(proto::ReplyOutcome {
                action: proto::ReplyAction::None as i32,
                enterprise_id: sender.enterprise.to_string(),
                ..Default::default()
            }));
        };
        let action = match intent {
            ReplyIntent::OptOut => proto::ReplyAction::OptOut,
            ReplyIntent::OptIn => proto::ReplyAction::OptIn,
            ReplyIntent::WrongRecipient => proto::ReplyAction::WrongRecipient,
            ReplyIntent::None => proto::ReplyAction::None,
        };
        let row = OptOutRow {
            record_id: new_id("opt-", now),
            msisdn: m.to_string(),
            enterprise: sender.enterprise.to_string(),
            scope: scope_bits(scope),
            opted_out: intent != ReplyIntent::OptIn,
            channel: Channel::SmsReply as i32,
            at_ns: time_or_now("received_at", &r.received_at, now)?,
        };
        let outcome = proto::ReplyOutcome {
            action: action as i32,
            enterprise_id: row.enterprise.clone(),
            scope: scope_to_proto(row.scope),
            confirmation_text: reply::confirmation(sender, intent),
            record_id: row.record_id.clone(),
        };
        let event = if row.opted_out {
            Event::OptedOut(row)
        } else {
            Event::OptedIn(row)
        };
        drop(snap);
        self.commit(vec![event]).await?;
        Ok(Response::new(outcome))
    }

    async fn import_opt_outs(
        &self,
        request: Request<Streaming<proto::OptOutRequest>>,
    ) -> Result<Response<proto::ImportSummary>, Status> {
        let mut rows = request.into_inner();
        let mut summary = proto::ImportSummary::default();
        let mut batch: Vec<Event> = Vec::with_capacity(IMPORT_BATCH);
        let mut index: u64 = 0;
        while let Some(item) = rows.next().await {
            let item = item?;
            match self.opt_out_row(&item, true, Channel::Import) {
                Ok(row) => batch.push(Event::OptedOut(row)),
                Err(status) => {
                    summary.rejected += 1;
                    if summary.errors.len() < IMPORT_MAX_ERRORS {
                        summary.errors.push(proto::ImportError {
                            index,
                            reason: status.message().to_owned(),
                        });
                    }
                }
            }
            index += 1;
            if batch.len() >= IMPORT_BATCH {
                let n = batch.len() as u64;
                self.commit(std::mem::take(&mut batch)).await?;
                summary.accepted += n;
            }
        }
        if !batch.is_empty() {
            let n = batch.len() as u64;
            self.commit(batch).await?;
            summary.accepted += n;
        }
        Ok(Response::new(summary))
    }
}

#[tonic::async_trait]
impl Complaints for RegistryService {
    /// Stores the complaint and applies RULES.md: it opts the complainant out of that enterprise's
    /// commercial traffic (never verification or service); a wrong-recipient complaint about a
    /// collection port also stops that enterprise's collection notices to the number.
    async fn report(
        &self,
        request: Request<proto::Complaint>,
    ) -> Result<Response<proto::ComplaintAck>, Status> {
        let c = request.into_inner();
        let now = self.now();
        let m = msisdn("msisdn", &c.msisdn)?;
        let port = c.sender_port.trim();
        if port.is_empty() || port.len() > 21 || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(
                "sender_port",
                format!("`{}` is not a port of 1 to 21 digits", c.sender_port),
            ));
        }
        let received_at_ns = time_or_now("received_at", &c.received_at, now)?;
        let snap = self.screener.snapshot();
        let sender = snap.senders.lookup(port);
        let region = snap.regions.lookup(m.prefix7());
        let enterprise = sender.map(|s| s.enterprise.to_string()).unwrap_or_default();
        let complaint = ComplaintRow {
            complaint_id: new_id("cmp-", now),
            msisdn: m.to_string(),
            sender_port: port.to_owned(),
            enterprise: enterprise.clone(),
            province: region.map(|r| r.province.to_owned()).unwrap_or_default(),
            received_at_ns,
            source: if c.source.trim().is_empty() {
                "unknown".to_owned()
            } else {
                c.source.trim().to_owned()
            },
            text: c.text.chars().take(2000).collect(),
            message_id: c.message_id.clone(),
            wrong_recipient: c.wrong_recipient,
            fingerprint: match self
                .screener
                .complaint_fingerprint(port, &c.message_id, &c.text)
            {
                0 => String::new(),
                fp => format!("{fp:032x}"),
            },
        };
        let mut opt_outs = Vec::new();
        if let Some(s) = sender {
            let mut scopes = vec![OptOutScope::Commercial];
            if c.wrong_recipient && s.is_collection_port() {
                scopes.push(OptOutScope::Collection);
            }
            for scope in scopes {
                opt_outs.push(OptOutRow {
                    record_id: new_id("opt-", now),
                    msisdn: m.to_string(),
                    enterprise: enterprise.clone(),
                    scope: scope_bits(scope),
                    opted_out: true,
                    channel: Channel::Complaint as i32,
                    at_ns: received_at_ns,
                });
            }
        }
        let ack = proto::ComplaintAck {
            complaint_id: complaint.complaint_id.clone(),
            enterprise_id: enterprise,
            region: region.map(|r| r.label.to_owned()).unwrap_or_default(),
            opt_outs: opt_outs.iter().map(opt_out_record).collect(),
        };
        drop(snap);
        let province = complaint.province.clone();
        let fingerprint = u128::from_str_radix(&complaint.fingerprint, 16).unwrap_or(0);
        let mut events = vec![Event::Complaint(complaint)];
        events.extend(opt_outs.into_iter().map(Event::OptedOut));
        self.commit(events).await?;
        if fingerprint != 0 {
            let settings = self.screener.snapshot().policy.fingerprint;
            self.screener.live().campaigns.complain(
                fingerprint,
                received_at_ns.div_euclid(1_000_000_000),
                &settings,
            );
        }
        if !province.is_empty() && !ack.enterprise_id.is_empty() {
            let at = jiff::Timestamp::from_nanosecond(i128::from(received_at_ns)).unwrap_or(now);
            self.screener
                .live()
                .throttle
                .record_complaint(&province, &ack.enterprise_id, at);
        }
        Ok(Response::new(ack))
    }
}
