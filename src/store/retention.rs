//! Retention (RULES.md "Defaults that change verdicts"): consent proof and the records that relied
//! on it are kept at least `retention.consent_months` calendar months after the consent ends or after
//! the last decision that relied on it, whichever is later (floor 5, default 6); anything past that
//! floor and older than `retention.max_months` (PIPL: no longer than needed) is purged. Purging
//! replaces a record's payload with a tombstone that keeps its hash, so the chain still verifies. A
//! refusal in force (the latest opt-out of a key) is never purged: it is what keeps the subscriber
//! from being messaged. Consent expiries are recorded in the chain as they pass.

use jiff::{Timestamp, ToSpan, tz::TimeZone};
use sqlx::Row;

use super::event::{Event, OptOutRow};
use super::{Store, StoreError};

#[derive(Debug, Clone)]
pub struct RetentionPolicy {
    pub consent_months: u32,
    pub max_months: u32,
    /// Calendar months are counted in this zone.
    pub timezone: TimeZone,
}

/// One record to tombstone, and the state row that goes with it.
#[derive(Debug, Clone)]
pub(crate) enum Purge {
    Record {
        seq: u64,
    },
    ConsentRow {
        consent_id: String,
    },
    /// Only the row written by `record_id`: a newer opt-in or opt-out for the key stays.
    OptOutRow {
        msisdn: String,
        enterprise: String,
        scope: u8,
        record_id: String,
    },
    ComplaintRow {
        complaint_id: String,
    },
    /// Final decisions whose idempotency TTL ended at or before `until_s`, at most `limit` of
    /// them (API.md "Idempotency": kept for `idempotency.ttl_hours`, not for ever).
    ExpiredIdempotency {
        until_s: i64,
        limit: u32,
    },
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PurgeReport {
    pub expiries_recorded: usize,
    pub records_purged: usize,
}

/// Most records tombstoned per transaction.
const PURGE_CHUNK: usize = 5000;

fn months_before(now: Timestamp, months: u32, tz: &TimeZone) -> Result<i64, StoreError> {
    let zoned = now.to_zoned(tz.clone());
    let then = zoned
        .checked_sub(i64::from(months).months())
        .map_err(|e| StoreError::Corrupt(format!("retention cutoff: {e}")))?;
    Ok(i64::try_from(then.timestamp().as_nanosecond()).unwrap_or(i64::MIN))
}

impl Store {
    /// Appends a CONSENT_EXPIRED record for every consent whose `expires_at` has passed.
    pub async fn record_expiries(&self, now: Timestamp) -> Result<usize, StoreError> {
        let now_ns = i64::try_from(now.as_nanosecond()).unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT c.consent_id, c.msisdn, c.enterprise, c.expires_at_ns FROM consents c \
             WHERE c.expires_at_ns IS NOT NULL AND c.expires_at_ns <= ?1 \
             AND (c.revoked_at_ns IS NULL OR c.revoked_at_ns > c.expires_at_ns) \
             AND NOT EXISTS (SELECT 1 FROM audit_events e WHERE e.consent_id = c.consent_id AND e.kind = 'consent_expired') \
             LIMIT 10000",
        )
        .bind(now_ns)
        .fetch_all(&self.read)
        .await?;
        let events: Vec<Event> = rows
            .iter()
            .map(|r| {
                Ok(Event::ConsentExpired {
                    consent_id: r.try_get("consent_id")?,
                    msisdn: r.try_get("msisdn")?,
                    enterprise: r.try_get("enterprise")?,
                    expired_at_ns: r.try_get("expires_at_ns")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()?;
        let n = events.len();
        if n > 0 {
            self.commit(events).await?;
        }
        Ok(n)
    }

    /// Records expiries, then tombstones everything past the floor and older than the maximum, and
    /// everything past the floor of a subscriber who asked for erasure.
    pub async fn apply_retention(
        &self,
        now: Timestamp,
        policy: &RetentionPolicy,
    ) -> Result<PurgeReport, StoreError> {
        let expiries_recorded = self.record_expiries(now).await?;
        let floor_cutoff = months_before(now, policy.consent_months, &policy.timezone)?;
        let max_cutoff = months_before(now, policy.max_months, &policy.timezone)?;
        let mut purges = self.purgeable(None, floor_cutoff, max_cutoff).await?;
        let erasures = sqlx::query("SELECT DISTINCT msisdn FROM audit_events WHERE kind = 'erasure_requested' AND payload IS NOT NULL")
            .fetch_all(&self.read)
            .await?;
        for e in &erasures {
            let msisdn: String = e.try_get("msisdn")?;
            // For this subscriber the maximum is the floor itself.
            purges.extend(
                self.purgeable(Some(&msisdn), floor_cutoff, floor_cutoff)
                    .await?,
            );
        }
        let records_purged = self.purge_all(purges, now).await?;
        Ok(PurgeReport {
            expiries_recorded,
            records_purged,
        })
    }

    /// Records an erasure request in the chain and carries out at once what the floor allows;
    /// returns (erasure_id, records still held by the floor, when the last of them may go).
    pub async fn request_erasure(
        &self,
        msisdn: &str,
        reason: &str,
        operator: &str,
        erasure_id: String,
        now: Timestamp,
        policy: &RetentionPolicy,
    ) -> Result<(String, u64, Option<i64>), StoreError> {
        let now_ns = i64::try_from(now.as_nanosecond()).unwrap_or(i64::MAX);
        self.commit(vec![Event::ErasureRequested {
            erasure_id: erasure_id.clone(),
            msisdn: msisdn.to_owned(),
            reason: reason.to_owned(),
            operator: operator.to_owned(),
            at_ns: now_ns,
        }])
        .await?;
        let floor_cutoff = months_before(now, policy.consent_months, &policy.timezone)?;
        let purges = self
            .purgeable(Some(msisdn), floor_cutoff, floor_cutoff)
            .await?;
        self.purge_all(purges, now).await?;
        let held = sqlx::query(
            "SELECT COUNT(*) AS n, MAX(at_ns) AS latest FROM audit_events WHERE msisdn = ? AND payload IS NOT NULL AND kind != 'erasure_requested'",
        )
        .bind(msisdn)
        .fetch_one(&self.read)
        .await?;
        let n: i64 = held.try_get("n")?;
        let latest: Option<i64> = held.try_get("latest")?;
        let in_force: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM consents WHERE msisdn = ?1 AND revoked_at_ns IS NULL AND (expires_at_ns IS NULL OR expires_at_ns > ?2)) \
             + (SELECT COUNT(*) FROM opt_outs WHERE msisdn = ?1 AND opted_out = 1)",
        )
        .bind(msisdn)
        .bind(now_ns)
        .fetch_one(&self.read)
        .await?;
        let complete_by = match (n, latest, in_force) {
            (0, _, _) | (_, None, _) => None,
            // A consent or refusal in force has no end yet.
            (_, _, k) if k > 0 => None,
            (_, Some(latest), _) => {
                let t = Timestamp::from_nanosecond(i128::from(latest)).unwrap_or(now);
                let end = t
                    .to_zoned(policy.timezone.clone())
                    .checked_add(i64::from(policy.consent_months).months())
                    .map_err(|e| StoreError::Corrupt(format!("retention: {e}")))?;
                Some(i64::try_from(end.timestamp().as_nanosecond()).unwrap_or(i64::MAX))
            }
        };
        Ok((erasure_id, n as u64, complete_by))
    }

    async fn purge_all(&self, purges: Vec<Purge>, now: Timestamp) -> Result<usize, StoreError> {
        let records = purges
            .iter()
            .filter(|p| matches!(p, Purge::Record { .. }))
            .count();
        let now_ns = i64::try_from(now.as_nanosecond()).unwrap_or(i64::MAX);
        for chunk in purges.chunks(PURGE_CHUNK) {
            self.purge(chunk.to_vec(), now_ns).await?;
        }
        Ok(records)
    }

    /// What may be purged: past `floor_cutoff` and older than `max_cutoff`, for one subscriber or all.
    async fn purgeable(
        &self,
        msisdn: Option<&str>,
        floor_cutoff: i64,
        max_cutoff: i64,
    ) -> Result<Vec<Purge>, StoreError> {
        let mut purges: Vec<Purge> = Vec::new();
        // Consents that ended before the floor, not relied on since, and recorded before the maximum.
        let consents = sqlx::query(
            "SELECT c.consent_id FROM consents c \
             WHERE COALESCE(c.revoked_at_ns, c.expires_at_ns) < ?1 AND c.recorded_at_ns < ?2 AND (?3 IS NULL OR c.msisdn = ?3) \
             AND COALESCE((SELECT MAX(e.at_ns) FROM audit_events e WHERE e.consent_id = c.consent_id AND e.kind = 'decision'), 0) < ?1",
        )
        .bind(floor_cutoff)
        .bind(max_cutoff)
        .bind(msisdn)
        .fetch_all(&self.read)
        .await?;
        for c in &consents {
            let consent_id: String = c.try_get("consent_id")?;
            let seqs = sqlx::query("SELECT seq FROM audit_events WHERE consent_id = ? AND kind != 'decision' AND payload IS NOT NULL")
                .bind(&consent_id)
                .fetch_all(&self.read)
                .await?;
            for s in &seqs {
                purges.push(Purge::Record {
                    seq: s.try_get::<i64, _>("seq")? as u64,
                });
            }
            purges.push(Purge::ConsentRow { consent_id });
        }

        // Decisions, complaints and superseded opt-outs older than the maximum (past the floor);
        // a decision that relied on a consent still within its floor stays with it.
        let old = sqlx::query(
            "SELECT seq, kind, payload FROM audit_events WHERE kind IN ('decision', 'feedback', 'compliance_query', 'complaint', 'opted_out', 'opted_in') \
             AND at_ns < ?1 AND payload IS NOT NULL AND (?3 IS NULL OR msisdn = ?3) \
             AND (consent_id IS NULL OR kind != 'decision' OR consent_id NOT IN \
             (SELECT consent_id FROM consents WHERE COALESCE(revoked_at_ns, expires_at_ns) IS NULL OR COALESCE(revoked_at_ns, expires_at_ns) >= ?2)) \
             ORDER BY seq LIMIT 100000",
        )
        .bind(max_cutoff)
        .bind(floor_cutoff)
        .bind(msisdn)
        .fetch_all(&self.read)
        .await?;
        for r in &old {
            let seq = r.try_get::<i64, _>("seq")? as u64;
            let kind: String = r.try_get("kind")?;
            let payload: String = r.try_get("payload")?;
            match kind.as_str() {
                // A correction carries the decision's text: it goes when decisions go.
                // A compliance query goes with the subscriber's other records (event.rs).
                "decision" | "feedback" | "compliance_query" => purges.push(Purge::Record { seq }),
                "complaint" => {
                    if let Ok(Event::Complaint(c)) = serde_json::from_str::<Event>(&payload) {
                        purges.push(Purge::ComplaintRow {
                            complaint_id: c.complaint_id,
                        });
                    }
                    purges.push(Purge::Record { seq });
                }
                _ => {
                    let Ok(Event::OptedOut(o) | Event::OptedIn(o)) =
                        serde_json::from_str::<Event>(&payload)
                    else {
                        continue;
                    };
                    if let Some(purge) = self.opt_out_purge(seq, &o).await? {
                        purges.extend(purge);
                    }
                }
            }
        }
        Ok(purges)
    }

    /// An old opt-out or opt-in record may go unless it is the refusal in force for its key.
    async fn opt_out_purge(
        &self,
        seq: u64,
        o: &OptOutRow,
    ) -> Result<Option<Vec<Purge>>, StoreError> {
        let current = sqlx::query("SELECT record_id, opted_out FROM opt_outs WHERE msisdn = ? AND enterprise = ? AND scope = ?")
            .bind(&o.msisdn)
            .bind(&o.enterprise)
            .bind(i64::from(o.scope))
            .fetch_optional(&self.read)
            .await?;
        let Some(current) = current else {
            return Ok(Some(vec![Purge::Record { seq }]));
        };
        let current_id: String = current.try_get("record_id")?;
        let in_force = current.try_get::<i64, _>("opted_out")? != 0;
        if current_id != o.record_id {
            return Ok(Some(vec![Purge::Record { seq }]));
        }
        if in_force {
            return Ok(None);
        }
        Ok(Some(vec![
            Purge::Record { seq },
            Purge::OptOutRow {
                msisdn: o.msisdn.clone(),
                enterprise: o.enterprise.clone(),
                scope: o.scope,
                record_id: o.record_id.clone(),
            },
        ]))
    }
}
