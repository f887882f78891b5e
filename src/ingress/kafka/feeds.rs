//! `sms.mo` (subscribers' replies) and `sms.complaints` go through the very code the gRPC calls
//! use (`Registry.HandleReply`, `Complaints.Report`), one record at a time: each is acknowledged by
//! the store before its offset is stored. A record the registry refuses (bad msisdn, unknown port)
//! goes to the dead-letter topic with the status it would have had; while the store is unavailable
//! the record is retried, never skipped.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::Message as _;
use rdkafka::consumer::Consumer as _;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Status};

use super::client::{self, EdgeConsumer};
use super::record::{self, Encoding, RecordError};
use super::{Edge, content_type};
use crate::ingress::grpc::registry::RegistryService;
use crate::proto::complaints_server::Complaints as _;
use crate::proto::registry_server::Registry as _;
use crate::proto::{Complaint, MoReply};

pub(super) async fn run(
    edge: Arc<Edge>,
    consumer: Arc<EdgeConsumer>,
    registry: Arc<RegistryService>,
    cancel: CancellationToken,
) {
    let topics = &edge.config.topics;
    let (mo_in, complaints_in) = (
        edge.metrics.records_in(&topics.mo),
        edge.metrics.records_in(&topics.complaints),
    );
    let mut last_commit = Instant::now();
    loop {
        let m = tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(super::submit::COMMIT_INTERVAL) => {
                client::commit(&consumer);
                last_commit = Instant::now();
                continue;
            }
            m = consumer.recv() => m,
        };
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "feeds: consumer error");
                continue;
            }
        };
        let is_mo = m.topic() == topics.mo;
        if is_mo {
            mo_in.increment(1);
        } else {
            complaints_in.increment(1);
        }
        let value = m.payload().unwrap_or_default();
        let outcome = loop {
            let applied = apply(&registry, is_mo, m.headers(), value).await;
            match applied {
                Err(Applied::Retry(status)) => {
                    tracing::error!(error = %status.message(), topic = m.topic(), "registry write failed; retrying the record");
                    if cancel.is_cancelled() {
                        break None;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(Applied::Refused(e)) => break Some(Some(e)),
                Ok(()) => break Some(None),
            }
        };
        let Some(refused) = outcome else {
            break;
        };
        if let Some(e) = refused {
            let out = [edge.dead_letter(m.key(), value, m.headers(), &e)];
            if !edge.produce_all(&out, &cancel).await {
                break;
            }
        }
        if let Err(e) = consumer.store_offset_from_message(&m) {
            tracing::debug!(error = %e, "offset not stored");
        }
        if last_commit.elapsed() >= super::submit::COMMIT_INTERVAL {
            client::commit(&consumer);
            last_commit = Instant::now();
        }
    }
    client::commit(&consumer);
    consumer.unsubscribe();
}

enum Applied {
    /// Not applied for a reason that passes (the store): try the same record again.
    Retry(Status),
    /// Never applicable as it stands: dead-letter it.
    Refused(RecordError),
}

async fn apply(
    registry: &RegistryService,
    is_mo: bool,
    headers: Option<&rdkafka::message::BorrowedHeaders>,
    value: &[u8],
) -> Result<(), Applied> {
    let encoding = Encoding::from_header(content_type(headers)).map_err(Applied::Refused)?;
    let result = if is_mo {
        let reply: MoReply =
            record::decode(record::MO_REPLY, encoding, value).map_err(Applied::Refused)?;
        registry.handle_reply(Request::new(reply)).await.map(|_| ())
    } else {
        let complaint: Complaint =
            record::decode(record::COMPLAINT, encoding, value).map_err(Applied::Refused)?;
        registry.report(Request::new(complaint)).await.map(|_| ())
    };
    result.map_err(|status| match status.code() {
        Code::Unavailable | Code::Internal | Code::Unknown | Code::DeadlineExceeded => {
            Applied::Retry(status)
        }
        code => Applied::Refused(RecordError::Refused {
            code: code_name(code),
            message: status.message().to_owned(),
        }),
    })
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::NotFound => "NOT_FOUND",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        _ => "REFUSED",
    }
}
