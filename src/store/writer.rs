//! The single writer: group commit. It takes every request queued (up to a batch limit), writes them
//! in one transaction as one audit batch, applies the events to the state tables, commits, updates
//! the in-memory indexes, and only then acknowledges each request. One fsync covers the batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlx::{Row, SqlitePool};
use tokio::sync::mpsc;

use super::audit::{self, GENESIS};
use super::event::{ConsentRow, Event, OptOutRow};
use super::retention::Purge;
use super::{StoreError, WriteRequest};
use crate::domain::{CategorySet, Msisdn, OptOutScope};
use crate::metrics::StoreMetrics;
use crate::registry::{Consent, InMemoryRegistry};

/// Most requests folded into one transaction.
const MAX_BATCH_REQUESTS: usize = 512;

/// A final decision for the idempotency table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRow {
    pub sender_port: String,
    pub message_id: String,
    pub verdict: i32,
    pub decision_id: String,
    pub text_hash: u64,
    pub until_s: i64,
    pub decided_at_s: i64,
    pub msisdn: u64,
    pub enterprise: String,
    /// Category index + 1 (0 = none).
    pub category: u8,
    pub dup_hash: u64,
    pub decision: Vec<u8>,
}

impl IdempotencyRow {
    pub(crate) fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<IdempotencyRow, StoreError> {
        Ok(IdempotencyRow {
            sender_port: row.try_get("sender_port")?,
            message_id: row.try_get("message_id")?,
            verdict: row.try_get("verdict")?,
            decision_id: row.try_get("decision_id")?,
            text_hash: row.try_get::<i64, _>("text_hash")? as u64,
            until_s: row.try_get("until_s")?,
            decided_at_s: row.try_get("decided_at_s")?,
            msisdn: row.try_get::<i64, _>("msisdn")? as u64,
            enterprise: row.try_get("enterprise")?,
            category: row.try_get::<i64, _>("category")? as u8,
            dup_hash: row.try_get::<i64, _>("dup_hash")? as u64,
            decision: row.try_get("decision")?,
        })
    }
}

/// Where the chain stands: the next sequence number and the hash the next batch links to.
pub(crate) struct ChainState {
    next_seq: u64,
    next_batch: i64,
    prev_hash: [u8; 32],
}

impl ChainState {
    pub(crate) async fn load(pool: &SqlitePool) -> Result<ChainState, StoreError> {
        let row = sqlx::query(
            "SELECT batch_id, last_seq, hash FROM audit_batches ORDER BY batch_id DESC LIMIT 1",
        )
        .fetch_optional(pool)
        .await?;
        Ok(match row {
            None => ChainState {
                next_seq: 1,
                next_batch: 1,
                prev_hash: GENESIS,
            },
            Some(r) => {
                let hash: String = r.try_get("hash")?;
                ChainState {
                    next_seq: r.try_get::<i64, _>("last_seq")? as u64 + 1,
                    next_batch: r.try_get::<i64, _>("batch_id")? + 1,
                    prev_hash: audit::from_hex(&hash).ok_or_else(|| {
                        StoreError::Corrupt("last audit batch hash is not hex".into())
                    })?,
                }
            }
        })
    }
}

/// An audited decision after its commit, for the Kafka decisions topic (`Store::tap_decisions`).
#[derive(Debug, Clone)]
pub struct CommittedDecision {
    pub seq: u64,
    /// The record's hash in the audit chain (hex), as Compliance.Decisions reports it.
    pub hash: String,
    pub row: super::event::DecisionRow,
}

pub(crate) type DecisionTap = Arc<std::sync::OnceLock<mpsc::Sender<CommittedDecision>>>;

pub(crate) async fn run(
    pool: SqlitePool,
    mut rx: mpsc::Receiver<WriteRequest>,
    mut chain: ChainState,
    registry: Arc<InMemoryRegistry>,
    metrics: Arc<StoreMetrics>,
    tap: DecisionTap,
) {
    /// Marks the store unavailable however the writer ends, a panic included: the gauge is what
    /// tells an operator about a writer that is gone (no error is counted for it).
    struct Down(Arc<StoreMetrics>);
    impl Drop for Down {
        fn drop(&mut self) {
            self.0.available.set(0.0);
        }
    }
    let _down = Down(Arc::clone(&metrics));
    metrics.available.set(1.0);
    let mut pending: Vec<WriteRequest> = Vec::with_capacity(MAX_BATCH_REQUESTS);
    while let Some(first) = rx.recv().await {
        pending.push(first);
        while pending.len() < MAX_BATCH_REQUESTS {
            match rx.try_recv() {
                Ok(req) => pending.push(req),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        let result = write_batch(&pool, &mut chain, &pending).await;
        metrics
            .commit_duration
            .record(started.elapsed().as_secs_f64());
        metrics.queue_depth.set(rx.len() as f64);
        match result {
            Ok(seqs) => {
                metrics.available.set(1.0);
                for (req, seqs) in pending.drain(..).zip(seqs) {
                    for e in &req.events {
                        apply_to_registry(&registry, e);
                    }
                    if let Some(tap) = tap.get() {
                        send_decisions(tap, &req.events, &seqs, &metrics);
                    }
                    metrics.events.increment(req.events.len() as u64);
                    if let Some(ack) = req.ack {
                        let _ = ack.send(Ok(seqs));
                    }
                }
            }
            Err(e) => {
                metrics.write_errors.increment(1);
                metrics.available.set(0.0);
                metrics.unavailable_write.increment(pending.len() as u64);
                tracing::error!(error = %e, requests = pending.len(), "store write failed; nothing in this batch is acknowledged");
                let message = e.to_string();
                for req in pending.drain(..) {
                    if let Some(ack) = req.ack {
                        let _ = ack.send(Err(StoreError::Unavailable(message.clone())));
                    }
                }
                // The transaction rolled back: re-read where the chain stands.
                if let Ok(state) = ChainState::load(&pool).await {
                    chain = state;
                }
            }
        }
    }
}

/// Hands committed decisions to the tap without waiting: the store is the record; a full tap queue
/// drops (and counts) what it cannot take rather than slowing every write.
fn send_decisions(
    tap: &mpsc::Sender<CommittedDecision>,
    events: &[Event],
    seqs: &[u64],
    metrics: &StoreMetrics,
) {
    for (event, &seq) in events.iter().zip(seqs) {
        let Event::Decision(row) = event else {
            continue;
        };
        let hash = audit::record_hash(seq, event.kind(), event.at_ns(), &event.canonical());
        let committed = CommittedDecision {
            seq,
            hash: audit::to_hex(&hash),
            row: row.clone(),
        };
        if tap.try_send(committed).is_err() {
            metrics.tap_dropped.increment(1);
        }
    }
}

/// One audit_events row waiting for a multi-row INSERT.
struct AuditRow<'a> {
    seq: u64,
    event: &'a Event,
    payload: String,
    hash: [u8; 32],
}

/// Rows per multi-row INSERT: at most 12 parameters each, well under SQLite's parameter limit.
/// Statements are what costs on this path (each is a round trip to the SQLite worker thread), not
/// rows.
const ROWS_PER_INSERT: usize = 64;

async fn insert_audit_rows(
    tx: &mut sqlx::SqliteConnection,
    batch_id: i64,
    rows: &mut Vec<AuditRow<'_>>,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT INTO audit_events (seq, batch_id, kind, at_ns, msisdn, enterprise, sender_port, message_id, consent_id, payload, hash) ",
        );
        q.push_values(chunk, |mut b, r| {
            let (port, message_id) = r.event.message_key().unzip();
            b.push_bind(r.seq as i64)
                .push_bind(batch_id)
                .push_bind(r.event.kind())
                .push_bind(r.event.at_ns())
                .push_bind(r.event.msisdn().to_owned())
                .push_bind(r.event.enterprise().to_owned())
                .push_bind(port.map(str::to_owned))
                .push_bind(message_id.map(str::to_owned))
                .push_bind(r.event.consent_id().map(str::to_owned))
                .push_bind(r.payload.clone())
                .push_bind(audit::to_hex(&r.hash));
        });
        q.build().execute(&mut *tx).await?;
    }
    rows.clear();
    Ok(())
}

/// Opt-out state rows in event order: INSERT OR REPLACE keeps the last row per key, as applying
/// them one by one would.
async fn upsert_opt_outs(
    tx: &mut sqlx::SqliteConnection,
    rows: &mut Vec<&OptOutRow>,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT OR REPLACE INTO opt_outs (msisdn, enterprise, scope, opted_out, channel, at_ns, record_id) ",
        );
        q.push_values(chunk, |mut b, o| {
            b.push_bind(o.msisdn.clone())
                .push_bind(o.enterprise.clone())
                .push_bind(i64::from(o.scope))
                .push_bind(o.opted_out)
                .push_bind(o.channel)
                .push_bind(o.at_ns)
                .push_bind(o.record_id.clone());
        });
        q.build().execute(&mut *tx).await?;
    }
    rows.clear();
    Ok(())
}

/// Final decisions in request order: INSERT OR REPLACE keeps the last row per (sender_port,
/// message_id), as writing them one by one would. One statement per 64 rows instead of one per row
/// took the Kafka path from 30k to 54k msgs/s (benches/README.md): one commit carries thousands of
/// these rows.
async fn upsert_idempotency(
    tx: &mut sqlx::SqliteConnection,
    rows: &mut Vec<&IdempotencyRow>,
) -> Result<(), StoreError> {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        let mut q = sqlx::QueryBuilder::<sqlx::Sqlite>::new(
            "INSERT OR REPLACE INTO idempotency (sender_port, message_id, verdict, decision_id, text_hash, until_s, decided_at_s, msisdn, enterprise, category, dup_hash, decision) ",
        );
        q.push_values(chunk, |mut b, row| {
            b.push_bind(row.sender_port.as_str())
                .push_bind(row.message_id.as_str())
                .push_bind(row.verdict)
                .push_bind(row.decision_id.as_str())
                .push_bind(row.text_hash as i64)
                .push_bind(row.until_s)
                .push_bind(row.decided_at_s)
                .push_bind(row.msisdn as i64)
                .push_bind(row.enterprise.as_str())
                .push_bind(i64::from(row.category))
                .push_bind(row.dup_hash as i64)
                .push_bind(row.decision.as_slice());
        });
        q.build().execute(&mut *tx).await?;
    }
    rows.clear();
    Ok(())
}

async fn write_batch(
    pool: &SqlitePool,
    chain: &mut ChainState,
    requests: &[WriteRequest],
) -> Result<Vec<Vec<u64>>, StoreError> {
    let mut tx = pool.begin().await?;
    let mut seq = chain.next_seq;
    let mut hashes: Vec<[u8; 32]> = Vec::new();
    let mut assigned = Vec::with_capacity(requests.len());
    let mut audit_rows: Vec<AuditRow<'_>> = Vec::new();
    let mut opt_out_rows: Vec<&OptOutRow> = Vec::new();
    let mut idempotency_rows: Vec<&IdempotencyRow> = Vec::new();
    for req in requests {
        let mut seqs = Vec::with_capacity(req.events.len());
        for event in &req.events {
            let payload = event.canonical();
            let hash = audit::record_hash(seq, event.kind(), event.at_ns(), &payload);
            match event {
                Event::OptedOut(o) | Event::OptedIn(o) => opt_out_rows.push(o),
                _ => apply_to_tables(&mut tx, event).await?,
            }
            audit_rows.push(AuditRow {
                seq,
                event,
                payload,
                hash,
            });
            hashes.push(hash);
            seqs.push(seq);
            seq += 1;
        }
        if !req.purge.is_empty() {
            // A purge may touch rows written earlier in this batch: write those first.
            insert_audit_rows(&mut tx, chain.next_batch, &mut audit_rows).await?;
            upsert_opt_outs(&mut tx, &mut opt_out_rows).await?;
            upsert_idempotency(&mut tx, &mut idempotency_rows).await?;
        }
        for p in &req.purge {
            apply_purge(&mut tx, p, req.purged_at_ns).await?;
        }
        idempotency_rows.extend(&req.idempotency);
        assigned.push(seqs);
    }
    insert_audit_rows(&mut tx, chain.next_batch, &mut audit_rows).await?;
    upsert_opt_outs(&mut tx, &mut opt_out_rows).await?;
    upsert_idempotency(&mut tx, &mut idempotency_rows).await?;
    let batch = if hashes.is_empty() {
        None
    } else {
        let hash = audit::batch_hash(&chain.prev_hash, hashes.iter());
        sqlx::query("INSERT INTO audit_batches (batch_id, first_seq, last_seq, prev_hash, hash) VALUES (?, ?, ?, ?, ?)")
            .bind(chain.next_batch)
            .bind(chain.next_seq as i64)
            .bind((seq - 1) as i64)
            .bind(audit::to_hex(&chain.prev_hash))
            .bind(audit::to_hex(&hash))
            .execute(&mut *tx)
            .await?;
        Some(hash)
    };
    tx.commit().await?;
    if let Some(hash) = batch {
        chain.prev_hash = hash;
        chain.next_batch += 1;
        chain.next_seq = seq;
    }
    Ok(assigned)
}

async fn apply_purge(
    tx: &mut sqlx::SqliteConnection,
    purge: &Purge,
    at_ns: i64,
) -> Result<(), StoreError> {
    match purge {
        Purge::Record { seq } => {
            sqlx::query("UPDATE audit_events SET payload = NULL, msisdn = NULL, enterprise = NULL, sender_port = NULL, message_id = NULL, purged_at_ns = ? WHERE seq = ? AND payload IS NOT NULL")
                .bind(at_ns)
                .bind(*seq as i64)
                .execute(&mut *tx)
                .await?;
        }
        Purge::ConsentRow { consent_id } => {
            sqlx::query("DELETE FROM consents WHERE consent_id = ?")
                .bind(consent_id)
                .execute(&mut *tx)
                .await?;
        }
        Purge::OptOutRow {
            msisdn,
            enterprise,
            scope,
            record_id,
        } => {
            sqlx::query(
                "DELETE FROM opt_outs WHERE msisdn = ? AND enterprise = ? AND scope = ? AND opted_out = 0 AND record_id = ?",
            )
            .bind(msisdn)
            .bind(enterprise)
            .bind(i64::from(*scope))
            .bind(record_id)
                .execute(&mut *tx)
                .await?;
        }
        Purge::ComplaintRow { complaint_id } => {
            sqlx::query("DELETE FROM complaints WHERE complaint_id = ?")
                .bind(complaint_id)
                .execute(&mut *tx)
                .await?;
        }
        Purge::ExpiredIdempotency { until_s, limit } => {
            // Through the until_s index; bounded, so one pass never holds the writer for long.
            sqlx::query("DELETE FROM idempotency WHERE (sender_port, message_id) IN (SELECT sender_port, message_id FROM idempotency WHERE until_s <= ? LIMIT ?)")
                .bind(until_s)
                .bind(i64::from(*limit))
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

async fn apply_to_tables(tx: &mut sqlx::SqliteConnection, event: &Event) -> Result<(), StoreError> {
    match event {
        Event::ConsentGranted(c) => {
            sqlx::query("INSERT INTO consents (consent_id, msisdn, enterprise, channel, evidence_ref, evidence_sha256, scope, granted_at_ns, expires_at_ns, revoked_at_ns, recorded_at_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(&c.consent_id)
                .bind(&c.msisdn)
                .bind(&c.enterprise)
                .bind(c.channel)
                .bind(&c.evidence_ref)
                .bind(&c.evidence_sha256)
                .bind(i64::from(c.scope))
                .bind(c.granted_at_ns)
                .bind(c.expires_at_ns)
                .bind(c.revoked_at_ns)
                .bind(c.recorded_at_ns)
                .execute(&mut *tx)
                .await?;
        }
        Event::ConsentRevoked {
            consent_id,
            revoked_at_ns,
            ..
        } => {
            sqlx::query("UPDATE consents SET revoked_at_ns = ? WHERE consent_id = ?")
                .bind(revoked_at_ns)
                .bind(consent_id)
                .execute(&mut *tx)
                .await?;
        }
        // write_batch batches these; one path either way.
        Event::OptedOut(o) | Event::OptedIn(o) => upsert_opt_outs(tx, &mut vec![o]).await?,
        Event::Complaint(c) => {
            sqlx::query("INSERT INTO complaints (complaint_id, msisdn, sender_port, enterprise, province, received_at_ns, source, message_id, wrong_recipient) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(&c.complaint_id)
                .bind(&c.msisdn)
                .bind(&c.sender_port)
                .bind(&c.enterprise)
                .bind(&c.province)
                .bind(c.received_at_ns)
                .bind(&c.source)
                .bind(&c.message_id)
                .bind(c.wrong_recipient)
                .execute(&mut *tx)
                .await?;
        }
        Event::RegionBlocked(b) => {
            sqlx::query("INSERT OR REPLACE INTO region_blocks (province, enterprise, categories, reason, operator, since_ns) VALUES (?, ?, ?, ?, ?, ?)")
                .bind(&b.province)
                .bind(&b.enterprise)
                .bind(i64::from(b.categories))
                .bind(&b.reason)
                .bind(&b.operator)
                .bind(b.at_ns)
                .execute(&mut *tx)
                .await?;
        }
        Event::RegionUnblocked(b) => {
            sqlx::query("DELETE FROM region_blocks WHERE province = ? AND enterprise = ?")
                .bind(&b.province)
                .bind(&b.enterprise)
                .execute(&mut *tx)
                .await?;
        }
        Event::RegionPolicySet(p) => {
            sqlx::query("INSERT OR REPLACE INTO region_policies (province, warn_rate, throttle_rate, block_rate, release_rate, min_messages, min_complaints, throttle_msgs_per_s, set_at_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                .bind(&p.province)
                .bind(f64::from_bits(p.warn_rate))
                .bind(f64::from_bits(p.throttle_rate))
                .bind(f64::from_bits(p.block_rate))
                .bind(f64::from_bits(p.release_rate))
                .bind(p.min_messages as i64)
                .bind(i64::from(p.min_complaints))
                .bind(f64::from_bits(p.throttle_msgs_per_s))
                .bind(p.at_ns)
                .execute(&mut *tx)
                .await?;
        }
        Event::ConsentExpired { .. }
        | Event::Decision(_)
        | Event::ErasureRequested { .. }
        | Event::Feedback(_)
        | Event::ComplianceQuery { .. } => {}
    }
    Ok(())
}

pub(crate) fn scope_from_bits(bits: u8) -> Option<OptOutScope> {
    match bits {
        1 => Some(OptOutScope::Commercial),
        2 => Some(OptOutScope::Collection),
        _ => None,
    }
}

/// Keeps the hot-path indexes in step with a committed event.
pub(crate) fn apply_to_registry(registry: &InMemoryRegistry, event: &Event) {
    match event {
        Event::ConsentGranted(c) => {
            if let Some(m) = Msisdn::parse(&c.msisdn) {
                registry.record_consent(m, &c.enterprise, consent_of(c));
            }
        }
        Event::ConsentRevoked {
            consent_id,
            msisdn,
            enterprise,
            revoked_at_ns,
            ..
        } => {
            if let Some(m) = Msisdn::parse(msisdn) {
                registry.revoke_consent_id(m, enterprise, consent_id, ts(*revoked_at_ns));
            }
        }
        Event::OptedOut(o) | Event::OptedIn(o) => {
            let (Some(m), Some(scope)) = (Msisdn::parse(&o.msisdn), scope_from_bits(o.scope))
            else {
                return;
            };
            let enterprise = (!o.enterprise.is_empty()).then_some(o.enterprise.as_str());
            if o.opted_out {
                registry.opt_out(m, enterprise, scope);
            } else {
                registry.opt_in(m, enterprise, scope);
            }
        }
        Event::ConsentExpired { .. }
        | Event::Complaint(_)
        | Event::Decision(_)
        | Event::ErasureRequested { .. }
        | Event::RegionBlocked(_)
        | Event::RegionUnblocked(_)
        | Event::RegionPolicySet(_)
        | Event::Feedback(_)
        | Event::ComplianceQuery { .. } => {}
    }
}

fn ts(ns: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_nanosecond(i128::from(ns)).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

pub(crate) fn consent_of(c: &ConsentRow) -> Consent {
    Consent {
        consent_id: Arc::from(c.consent_id.as_str()),
        scope: CategorySet::from_bits(c.scope),
        granted_at: ts(c.granted_at_ns),
        expires_at: c.expires_at_ns.map(ts),
        revoked_at: c.revoked_at_ns.map(ts),
    }
}

/// The registry state rebuilt from the chain, for `audit verify`.
#[derive(Default)]
pub(crate) struct Replay {
    /// consent_id -> (row as it should be, seq of the last event that changed it)
    consents: BTreeMap<String, (ConsentRow, u64)>,
    /// (msisdn, enterprise, scope) -> (row, seq)
    opt_outs: BTreeMap<(String, String, u8), (OptOutRow, u64)>,
    seq: u64,
}

impl Replay {
    pub(crate) fn apply(&mut self, seq: u64, event: &Event) {
        self.seq = seq;
        match event {
            Event::ConsentGranted(c) => {
                self.consents.insert(c.consent_id.clone(), (c.clone(), seq));
            }
            Event::ConsentRevoked {
                consent_id,
                revoked_at_ns,
                ..
            } => {
                if let Some((c, s)) = self.consents.get_mut(consent_id) {
                    c.revoked_at_ns = Some(*revoked_at_ns);
                    *s = seq;
                }
            }
            Event::OptedOut(o) | Event::OptedIn(o) => {
                self.opt_outs.insert(
                    (o.msisdn.clone(), o.enterprise.clone(), o.scope),
                    (o.clone(), seq),
                );
            }
            Event::ConsentExpired { .. }
            | Event::Complaint(_)
            | Event::Decision(_)
            | Event::ErasureRequested { .. }
            | Event::RegionBlocked(_)
            | Event::RegionUnblocked(_)
            | Event::RegionPolicySet(_)
            | Event::Feedback(_)
            | Event::ComplianceQuery { .. } => {}
        }
    }

    /// Compares the state tables with the replay; the first difference, with the seq of the event
    /// that should have produced the row.
    pub(crate) async fn compare(
        &self,
        pool: &SqlitePool,
    ) -> Result<Option<(u64, String)>, StoreError> {
        let rows = sqlx::query("SELECT consent_id, msisdn, enterprise, channel, evidence_ref, evidence_sha256, scope, granted_at_ns, expires_at_ns, revoked_at_ns, recorded_at_ns FROM consents")
            .fetch_all(pool)
            .await?;
        let consents = rows
            .iter()
            .map(|r| {
                super::consent_from_row(r).map(|c| (c.consent_id.clone(), c.consent_id.clone(), c))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(found) = first_difference(&self.consents, consents, "consents", "consent") {
            return Ok(Some(found));
        }
        let rows = sqlx::query(
            "SELECT record_id, msisdn, enterprise, scope, opted_out, channel, at_ns FROM opt_outs",
        )
        .fetch_all(pool)
        .await?;
        let opt_outs = rows
            .iter()
            .map(|r| {
                super::opt_out_from_row(r).map(|o| {
                    (
                        (o.msisdn.clone(), o.enterprise.clone(), o.scope),
                        o.record_id.clone(),
                        o,
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(first_difference(
            &self.opt_outs,
            opt_outs,
            "opt_outs",
            "opt-out",
        ))
    }
}

/// The first state row (key, row id, row) that differs from the replay, has no event, or the count
/// of replayed records missing from the table.
fn first_difference<K: Ord, R: PartialEq>(
    replayed: &BTreeMap<K, (R, u64)>,
    rows: Vec<(K, String, R)>,
    table: &str,
    record: &str,
) -> Option<(u64, String)> {
    let mut seen = 0usize;
    for (key, id, row) in rows {
        match replayed.get(&key) {
            Some((expected, _)) if *expected == row => seen += 1,
            Some((_, seq)) => {
                return Some((
                    *seq,
                    format!("{table} row {id} differs from its audit events"),
                ));
            }
            None => return Some((0, format!("{table} row {id} has no audit event"))),
        }
    }
    (seen != replayed.len()).then(|| {
        (
            0,
            format!(
                "{} {record} record(s) of the audit chain are missing from the {table} table",
                replayed.len() - seen
            ),
        )
    })
}
