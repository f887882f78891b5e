//! The Kafka edge: gateways put ScreenRequests on `sms.submit` and read final decisions from
//! `sms.released` / `sms.rejected`; interim HOLDs travel through `sms.held` and come back here when
//! due. Replies and complaints arrive on their own topics and audit records leave on
//! `sms.decisions`.
//!
//! At-least-once, in this order for every record: screen, store the decision (await the commit),
//! produce the results (await the broker's acks), store the offset, commit. A crash anywhere
//! redelivers the record; the stored decision answers the redelivery with the same result. A
//! handover to another instance decides redeliveries again from that instance's state.

mod client;
mod decisions;
mod feeds;
mod held;
pub mod record;
mod submit;

use std::sync::Arc;
use std::time::Duration;

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::KafkaConfig;
use crate::ingress::grpc::registry::RegistryService;
use crate::metrics::KafkaMetrics;
use crate::proto;
use crate::screening::Screener;
use crate::store::RegistryStore;
use record::{Encoding, RecordError};

/// What every pipeline shares.
struct Edge {
    config: KafkaConfig,
    screener: Arc<Screener>,
    store: Arc<dyn RegistryStore>,
    producer: FutureProducer,
    metrics: Arc<KafkaMetrics>,
    out: OutCounters,
}

/// Records-out counters per destination, resolved once.
struct OutCounters {
    released: metrics::Counter,
    rejected: metrics::Counter,
    held: metrics::Counter,
    dead_letter: metrics::Counter,
    decisions: metrics::Counter,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dest {
    Released,
    Rejected,
    Held,
    DeadLetter,
    Decisions,
}

impl Dest {
    fn for_verdict(verdict: i32) -> Dest {
        if verdict == proto::Verdict::Release as i32 {
            Dest::Released
        } else if verdict == proto::Verdict::Hold as i32 {
            Dest::Held
        } else {
            Dest::Rejected
        }
    }
}

/// One record to produce.
struct Outgoing {
    dest: Dest,
    key: Option<Vec<u8>>,
    value: Vec<u8>,
    headers: OwnedHeaders,
}

impl Edge {
    fn topic(&self, dest: Dest) -> &str {
        let t = &self.config.topics;
        match dest {
            Dest::Released => &t.released,
            Dest::Rejected => &t.rejected,
            Dest::Held => &t.held,
            Dest::DeadLetter => &t.dead_letter,
            Dest::Decisions => &t.decisions,
        }
    }

    fn counter(&self, dest: Dest) -> &metrics::Counter {
        match dest {
            Dest::Released => &self.out.released,
            Dest::Rejected => &self.out.rejected,
            Dest::Held => &self.out.held,
            Dest::DeadLetter => &self.out.dead_letter,
            Dest::Decisions => &self.out.decisions,
        }
    }

    /// The result record of a decision: ScreenResult in the request's encoding, keyed like it.
    fn result(
        &self,
        key: Option<&[u8]>,
        encoding: Encoding,
        request: proto::ScreenRequest,
        decision: proto::Decision,
    ) -> Outgoing {
        let dest = Dest::for_verdict(decision.verdict);
        let key = key.map_or_else(|| request.msisdn.as_bytes().to_vec(), <[u8]>::to_vec);
        let result = proto::ScreenResult {
            request: Some(request),
            decision: Some(decision),
        };
        Outgoing {
            dest,
            key: Some(key),
            value: record::encode(record::SCREEN_RESULT, encoding, &result),
            headers: OwnedHeaders::new_with_capacity(1).insert(Header {
                key: record::CONTENT_TYPE,
                value: Some(encoding.header()),
            }),
        }
    }

    /// A dead-letter record: the original key, value and headers untouched, plus the cause.
    fn dead_letter(
        &self,
        key: Option<&[u8]>,
        value: &[u8],
        headers: Option<&rdkafka::message::BorrowedHeaders>,
        error: &RecordError,
    ) -> Outgoing {
        self.metrics.dead_letter(error.reason());
        let mut out = OwnedHeaders::new_with_capacity(headers.map_or(0, |h| h.count()) + 3);
        if let Some(h) = headers {
            for header in h.iter() {
                out = out.insert(header);
            }
        }
        out = out
            .insert(Header {
                key: record::ERROR_HEADER,
                value: Some(error.to_string().as_str()),
            })
            .insert(Header {
                key: record::REASON_HEADER,
                value: Some(error.reason()),
            });
        if let Some(field) = error.field() {
            out = out.insert(Header {
                key: record::ERROR_FIELD_HEADER,
                value: Some(field),
            });
        }
        Outgoing {
            dest: Dest::DeadLetter,
            key: key.map(<[u8]>::to_vec),
            value: value.to_vec(),
            headers: out,
        }
    }

    /// Produces every record and returns once the broker acknowledged each. Failures are retried
    /// (the producer is idempotent), so this returns only when all are in, or on shutdown.
    async fn produce_all(&self, records: &[Outgoing], cancel: &CancellationToken) -> bool {
        let mut pending = Vec::with_capacity(records.len());
        for (i, rec) in records.iter().enumerate() {
            loop {
                match self.producer.send_result(self.future_record(rec)) {
                    Ok(delivery) => {
                        pending.push((i, delivery));
                        break;
                    }
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                        // The local queue is full: let deliveries drain before adding more.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                    Err((e, _)) => {
                        tracing::warn!(error = %e, topic = self.topic(rec.dest), "produce failed; retrying");
                        if cancel.is_cancelled() {
                            return false;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
        for (i, delivery) in pending {
            let rec = &records[i];
            let mut outcome = delivery.await;
            loop {
                match outcome {
                    Ok(Ok(_)) => break,
                    Ok(Err((e, _))) => {
                        tracing::warn!(error = %e, topic = self.topic(rec.dest), "delivery failed; retrying");
                    }
                    Err(_) => tracing::warn!("delivery report lost; retrying"),
                }
                if cancel.is_cancelled() {
                    return false;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                outcome = match self.producer.send_result(self.future_record(rec)) {
                    Ok(d) => d.await,
                    Err(_) => Err(futures::channel::oneshot::Canceled),
                };
            }
            self.counter(rec.dest).increment(1);
        }
        true
    }

    fn future_record<'a>(&'a self, rec: &'a Outgoing) -> FutureRecord<'a, [u8], [u8]> {
        let mut r = FutureRecord::to(self.topic(rec.dest))
            .payload(rec.value.as_slice())
            .headers(rec.headers.clone());
        if let Some(k) = &rec.key {
            r = r.key(k.as_slice());
        }
        r
    }

    /// Screens a request read from a record: the decision's result record, and for a request no
    /// decision can be made for, a dead-letter record and (when it names a message that can still
    /// be answered) a REJECT MALFORMED result.
    fn screen_record(
        &self,
        key: Option<&[u8]>,
        value: &[u8],
        headers: Option<&rdkafka::message::BorrowedHeaders>,
        decoded: Result<(Encoding, proto::ScreenRequest), RecordError>,
        persist: &mut crate::screening::Persist,
        out: &mut Vec<Outgoing>,
    ) {
        let (encoding, request) = match decoded {
            Ok(d) => d,
            Err(e) => {
                out.push(self.dead_letter(key, value, headers, &e));
                return;
            }
        };
        match self.screener.screen(&request) {
            Ok((decision, p)) => {
                persist.idempotency.extend(p.idempotency);
                persist.audit.extend(p.audit);
                out.push(self.result(key, encoding, request, decision));
            }
            Err(e) => {
                let answerable = !request.message_id.is_empty()
                    && !matches!(e, crate::screening::RequestError::MessageIdReused);
                let decision = answerable.then(|| self.screener.malformed_decision(&request, &e));
                out.push(self.dead_letter(key, value, headers, &RecordError::Request(e)));
                if let Some(decision) = decision {
                    out.push(self.result(key, encoding, request, decision));
                }
            }
        }
    }

    /// Writes what screening left for the store and waits for the commit, retrying while the store
    /// is unavailable: nothing is produced before its decision is stored. `false` on shutdown.
    async fn store(&self, persist: crate::screening::Persist, cancel: &CancellationToken) -> bool {
        let crate::screening::Persist { idempotency, audit } = persist;
        loop {
            // A retry needs the rows again, so the store gets copies.
            let committed = match self.store.enqueue(audit.clone(), idempotency.clone()).await {
                Ok(done) => matches!(done.await, Ok(Ok(_))),
                Err(_) => false,
            };
            if committed {
                return true;
            }
            tracing::error!(
                "store unavailable: Kafka results wait until their decisions are stored"
            );
            if cancel.is_cancelled() {
                return false;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Decodes a ScreenRequest from a record value per its content-type.
fn decode_request(
    headers: Option<&rdkafka::message::BorrowedHeaders>,
    value: &[u8],
) -> Result<(Encoding, proto::ScreenRequest), RecordError> {
    record::decode_screen_request(content_type(headers), value)
}

fn content_type(headers: Option<&rdkafka::message::BorrowedHeaders>) -> Option<&[u8]> {
    headers?
        .iter()
        .find(|h| h.key.eq_ignore_ascii_case(record::CONTENT_TYPE))
        .and_then(|h| h.value)
}

#[derive(Debug, thiserror::Error)]
pub enum KafkaStartError {
    #[error("kafka client: {0}")]
    Client(#[from] KafkaError),
    #[error("kafka.msisdn_hash_key_file: {0}")]
    Key(String),
}

/// Starts every Kafka pipeline on `tasks`; they stop (draining and committing) when `cancel` fires.
pub fn start(
    config: KafkaConfig,
    screener: Arc<Screener>,
    store: Arc<dyn RegistryStore>,
    registry: Arc<RegistryService>,
    tasks: &TaskTracker,
    cancel: &CancellationToken,
) -> Result<(), KafkaStartError> {
    let metrics = Arc::new(KafkaMetrics::register());
    let producer = client::producer(&config)?;
    let t = &config.topics;
    let out = OutCounters {
        released: metrics.records_out(&t.released),
        rejected: metrics.records_out(&t.rejected),
        held: metrics.records_out(&t.held),
        dead_letter: metrics.records_out(&t.dead_letter),
        decisions: metrics.records_out(&t.decisions),
    };
    let submit_consumer = client::consumer(
        &config,
        "submit",
        &config.group,
        &[&t.submit],
        Arc::clone(&metrics),
    )?;
    let held_consumer = client::consumer(
        &config,
        "held",
        &format!("{}.held", config.group),
        &[&t.held],
        Arc::clone(&metrics),
    )?;
    let feeds_consumer = client::consumer(
        &config,
        "feeds",
        &format!("{}.feeds", config.group),
        &[&t.mo, &t.complaints],
        Arc::clone(&metrics),
    )?;
    let key = match &config.msisdn_hash_key_file {
        Some(path) => Some(
            std::fs::read(path)
                .map_err(|e| KafkaStartError::Key(format!("{}: {e}", path.display())))?
                .trim_ascii()
                .to_vec(),
        ),
        None => None,
    };
    let decisions_feed = match key {
        Some(key) => store.tap_decisions(decisions::QUEUE).map(|rx| (rx, key)),
        None => {
            tracing::warn!(
                "kafka.msisdn_hash_key_file is not set: audit records are not sent to the decisions topic"
            );
            None
        }
    };
    let edge = Arc::new(Edge {
        config,
        screener,
        store,
        producer,
        metrics,
        out,
    });
    tasks.spawn(submit::run(
        Arc::clone(&edge),
        submit_consumer,
        cancel.clone(),
    ));
    tasks.spawn(held::run(Arc::clone(&edge), held_consumer, cancel.clone()));
    tasks.spawn(feeds::run(
        Arc::clone(&edge),
        feeds_consumer,
        registry,
        cancel.clone(),
    ));
    if let Some((rx, key)) = decisions_feed {
        tasks.spawn(decisions::run(Arc::clone(&edge), rx, key, cancel.clone()));
    }
    tracing::info!(
        brokers = %edge.config.brokers,
        group = %edge.config.group,
        submit = %edge.config.topics.submit,
        "kafka edge started"
    );
    Ok(())
}
