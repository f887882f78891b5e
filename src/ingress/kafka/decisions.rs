//! `sms.decisions`: every audited decision, as the Compliance.Decisions record (sequence number,
//! time, request, decision, chain hash), for the carrier's warehouse. The msisdn is replaced by a
//! keyed hash (HMAC-SHA256, hex; RULES.md): the warehouse can join one subscriber's records without
//! holding the number. Records follow commit order; the store stays the system of record (a full
//! queue or a crash can skip records, which the gap in `seq` shows and Compliance.Decisions fills).

use std::sync::Arc;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use prost::Message as _;
use rdkafka::message::{Header, OwnedHeaders};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::record::{self, Encoding};
use super::{Dest, Edge, Outgoing};
use crate::proto;
use crate::store::CommittedDecision;

/// Committed decisions waiting to be produced.
pub(super) const QUEUE: usize = 65_536;
/// Records produced per round.
const BATCH: usize = 1000;

/// HMAC-SHA256 of the msisdn under the configured key, hex.
pub fn msisdn_hash(key: &[u8], msisdn: &str) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(msisdn.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn to_record(key: &[u8], c: &CommittedDecision) -> Option<(String, proto::DecisionRecord)> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut request =
        proto::ScreenRequest::decode(b64.decode(&c.row.request_pb).ok()?.as_slice()).ok()?;
    let decision = proto::Decision::decode(b64.decode(&c.row.decision_pb).ok()?.as_slice()).ok()?;
    let hashed = msisdn_hash(key, &c.row.msisdn);
    request.msisdn.clone_from(&hashed);
    let at = c.row.decided_at_ns;
    Some((
        hashed,
        proto::DecisionRecord {
            seq: c.seq,
            decided_at: Some(prost_types::Timestamp {
                seconds: at.div_euclid(1_000_000_000),
                nanos: at.rem_euclid(1_000_000_000) as i32,
            }),
            request: Some(request),
            decision: Some(decision),
            hash: c.hash.clone(),
        },
    ))
}

pub(super) async fn run(
    edge: Arc<Edge>,
    mut rx: mpsc::Receiver<CommittedDecision>,
    key: Vec<u8>,
    cancel: CancellationToken,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let n = tokio::select! {
            () = cancel.cancelled() => break,
            n = rx.recv_many(&mut batch, BATCH) => n,
        };
        if n == 0 {
            break;
        }
        let out: Vec<Outgoing> = batch
            .drain(..)
            .filter_map(|c| {
                let Some((hashed, rec)) = to_record(&key, &c) else {
                    tracing::error!(
                        seq = c.seq,
                        "audit record undecodable; not sent to the decisions topic"
                    );
                    return None;
                };
                Some(Outgoing {
                    dest: Dest::Decisions,
                    key: Some(hashed.into_bytes()),
                    value: record::encode(record::DECISION_RECORD, Encoding::Protobuf, &rec),
                    headers: OwnedHeaders::new_with_capacity(1).insert(Header {
                        key: record::CONTENT_TYPE,
                        value: Some(record::PROTOBUF),
                    }),
                })
            })
            .collect();
        if !edge.produce_all(&out, &cancel).await {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::msisdn_hash;

    #[test]
    fn the_hash_is_keyed_and_stable() {
        let a = msisdn_hash(b"0123456789abcdef", "13800138000");
        assert_eq!(a.len(), 64);
        assert_eq!(a, msisdn_hash(b"0123456789abcdef", "13800138000"));
        assert_ne!(a, msisdn_hash(b"another key 0123", "13800138000"));
        assert_ne!(a, msisdn_hash(b"0123456789abcdef", "13800138001"));
        assert!(!a.contains("13800138000"));
    }
}
