//! The embedded store: SQLite through sqlx in `--data-dir` (WAL, synchronous=FULL), the only module
//! that touches disk. Writes go through one writer task that batches whatever is queued into one
//! transaction (group commit), extends the audit chain, applies the events to the state tables and
//! the in-memory indexes, and only then acknowledges. Reads (compliance queries, start-up load) use
//! a separate read pool. `RegistryStore` is the seam where PostgreSQL can replace SQLite at scale.

pub mod audit;
pub mod event;
pub mod retention;
pub mod seam;
mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::StoreMetrics;
use crate::registry::InMemoryRegistry;
use audit::{GENESIS, Head, VerifyReport};
use event::{ConsentRow, Event, OptOutRow};
pub use seam::RegistryStore;
pub use writer::{CommittedDecision, IdempotencyRow};

/// The file that marks an initialised data dir: present + store missing = refuse to start.
pub const MARKER: &str = "PORTCULLIS_DATA_DIR";
pub const DB_FILE: &str = "portcullis.db";

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("data dir {0}: {1}")]
    DataDir(PathBuf, String),
    #[error("store: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("store migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("store: {0}")]
    Corrupt(String),
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The write queue is full: the caller should retry shortly (overload, not an outage).
    #[error("overloaded: the store's write queue is full; retry with backoff")]
    Busy,
}

impl From<StoreError> for tonic::Status {
    fn from(e: StoreError) -> tonic::Status {
        match e {
            StoreError::Busy => tonic::Status::resource_exhausted(e.to_string()),
            e => tonic::Status::unavailable(e.to_string()),
        }
    }
}

/// A place in the writer's queue, taken before the work whose result it will carry, so a full queue
/// refuses the work instead of making it wait.
pub struct WriteSlot(mpsc::OwnedPermit<WriteRequest>);

impl WriteSlot {
    /// Queues the write in the reserved place; the receiver resolves on commit.
    pub fn send(
        self,
        events: Vec<Event>,
        idempotency: Vec<IdempotencyRow>,
    ) -> oneshot::Receiver<Ack> {
        let (ack, done) = oneshot::channel();
        self.0.send(WriteRequest {
            events,
            idempotency,
            purge: Vec::new(),
            purged_at_ns: 0,
            ack: Some(ack),
        });
        done
    }
}

/// What the writer acknowledges: the sequence numbers given to the events, in order.
pub type Ack = Result<Vec<u64>, StoreError>;

pub(crate) struct WriteRequest {
    pub events: Vec<Event>,
    pub idempotency: Vec<IdempotencyRow>,
    /// Tombstones and state rows to drop (retention), with the purge time.
    pub purge: Vec<retention::Purge>,
    pub purged_at_ns: i64,
    pub ack: Option<oneshot::Sender<Ack>>,
}

#[derive(Clone)]
pub struct Store {
    read: SqlitePool,
    writes: mpsc::Sender<WriteRequest>,
    metrics: Arc<StoreMetrics>,
    tap: writer::DecisionTap,
}

/// Queue depth of the writer: beyond it, acknowledged writes wait (back-pressure) and unary screens
/// are refused RESOURCE_EXHAUSTED (`try_reserve`); nothing queued is dropped.
pub const DEFAULT_WRITE_QUEUE: usize = 4096;

/// Most expired idempotency rows deleted per `prune_idempotency` call (one a second). A delete
/// costs more than the insert it undoes (measured with SQLite on this machine: 100k rows of 1M in
/// 0.66 s, 1M inserted in 3.75 s), and the writer holds every other write while it runs: 25k keeps
/// each pass near 0.17 s. That prunes 25k decisions a second, about 2 billion a day: a daemon at its
/// 54k/s peak all day outgrows it, and catches up in the quieter hours real traffic has.
pub const IDEMPOTENCY_PRUNE_LIMIT: u32 = 25_000;

impl Store {
    /// Opens (creating on first start) the store in `data_dir`. An initialised dir whose database is
    /// missing is an error, never a silent empty registry.
    pub async fn open(
        data_dir: &Path,
        registry: Arc<InMemoryRegistry>,
    ) -> Result<Store, StoreError> {
        Store::open_with(data_dir, registry, &StoreOptions::default()).await
    }

    pub async fn open_with(
        data_dir: &Path,
        registry: Arc<InMemoryRegistry>,
        store_options: &StoreOptions,
    ) -> Result<Store, StoreError> {
        let db = data_dir.join(DB_FILE);
        let marker = data_dir.join(MARKER);
        let dir_err =
            |e: std::io::Error| StoreError::DataDir(data_dir.to_path_buf(), e.to_string());
        std::fs::create_dir_all(data_dir).map_err(dir_err)?;
        let initialised = marker.try_exists().map_err(dir_err)?;
        let db_exists = db.try_exists().map_err(dir_err)?;
        if initialised && !db_exists {
            return Err(StoreError::DataDir(
                data_dir.to_path_buf(),
                format!(
                    "initialised ({MARKER} present) but {DB_FILE} is missing; restore it from a backup"
                ),
            ));
        }
        let options = SqliteConnectOptions::new()
            .filename(&db)
            .create_if_missing(!initialised)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(5))
            .foreign_keys(true);
        // The size cap applies to the writer: past it SQLite answers SQLITE_FULL, which fails the
        // writes (UNAVAILABLE) exactly as a full disk would, while screening goes on.
        let write_options = match store_options.max_size_mb {
            0 => options.clone(),
            mb => options
                .clone()
                .pragma("max_page_count", (mb * 1024 * 1024 / 4096).to_string()),
        };
        let write_pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(write_options)
            .await?;
        let integrity: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&write_pool)
            .await?;
        if integrity != "ok" {
            return Err(StoreError::Corrupt(format!(
                "{}: integrity check failed: {integrity}",
                db.display()
            )));
        }
        MIGRATOR.run(&write_pool).await?;
        if !initialised {
            std::fs::write(
                &marker,
                "portcullis data dir; do not delete portcullis.db without a backup\n",
            )
            .map_err(dir_err)?;
        }
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let metrics = Arc::new(StoreMetrics::register());
        let (tx, rx) = mpsc::channel(store_options.write_queue);
        let state = writer::ChainState::load(&write_pool).await?;
        let tap = writer::DecisionTap::default();
        tokio::spawn(writer::run(
            write_pool,
            rx,
            state,
            registry,
            Arc::clone(&metrics),
            Arc::clone(&tap),
        ));
        Ok(Store {
            read,
            writes: tx,
            metrics,
            tap,
        })
    }

    /// Queues a write; resolves once it is queued (waiting while the queue is full). The returned
    /// receiver resolves once the write is committed.
    pub async fn enqueue(
        &self,
        events: Vec<Event>,
        idempotency: Vec<IdempotencyRow>,
    ) -> Result<oneshot::Receiver<Ack>, StoreError> {
        let (ack, done) = oneshot::channel();
        let req = WriteRequest {
            events,
            idempotency,
            purge: Vec::new(),
            purged_at_ns: 0,
            ack: Some(ack),
        };
        match self.writes.try_send(req) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(req)) => {
                self.metrics.backpressure.increment(1);
                self.writes
                    .send(req)
                    .await
                    .map_err(|_| self.writer_stopped())?;
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                return Err(self.writer_stopped());
            }
        }
        Ok(done)
    }

    /// The error for a write refused because the writer is gone, counted.
    fn writer_stopped(&self) -> StoreError {
        self.metrics.unavailable_stopped.increment(1);
        StoreError::Unavailable("writer stopped".into())
    }

    /// Takes a place in the write queue without waiting: `Busy` when it is full.
    pub fn try_reserve(&self) -> Result<WriteSlot, StoreError> {
        match self.writes.clone().try_reserve_owned() {
            Ok(permit) => Ok(WriteSlot(permit)),
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.metrics.backpressure.increment(1);
                Err(StoreError::Busy)
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(self.writer_stopped()),
        }
    }

    /// Tombstones records and drops their state rows, through the writer (so it serialises with
    /// every other write), and waits for the commit.
    pub(crate) async fn purge(
        &self,
        purge: Vec<retention::Purge>,
        purged_at_ns: i64,
    ) -> Result<(), StoreError> {
        let (ack, done) = oneshot::channel();
        let req = WriteRequest {
            events: Vec::new(),
            idempotency: Vec::new(),
            purge,
            purged_at_ns,
            ack: Some(ack),
        };
        self.writes
            .send(req)
            .await
            .map_err(|_| self.writer_stopped())?;
        done.await
            .map_err(|_| StoreError::Unavailable("writer stopped before committing".into()))?
            .map(|_| ())
    }

    /// Queues the deletion of final decisions whose idempotency TTL has ended by `now_s` (at most
    /// `IDEMPOTENCY_PRUNE_LIMIT` per call), without waiting: called every second, it keeps the
    /// table at one TTL of decisions. A full queue skips this call; the next one catches up.
    pub fn prune_idempotency(&self, now_s: i64) {
        let req = WriteRequest {
            events: Vec::new(),
            idempotency: Vec::new(),
            purge: vec![retention::Purge::ExpiredIdempotency {
                until_s: now_s,
                limit: IDEMPOTENCY_PRUNE_LIMIT,
            }],
            purged_at_ns: 0,
            ack: None,
        };
        let _ = self.writes.try_send(req);
    }

    /// Every audited decision committed from now on, in commit order, through a queue of
    /// `capacity` (full: dropped and counted). One tap per store; a second call gets `None`.
    pub fn tap_decisions(&self, capacity: usize) -> Option<mpsc::Receiver<CommittedDecision>> {
        let (tx, rx) = mpsc::channel(capacity);
        self.tap.set(tx).ok().map(|()| rx)
    }

    /// Waits until everything queued before this call is committed (the queue is FIFO): the drain
    /// on shutdown, so queued decisions and idempotency rows are not lost by a graceful stop.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.commit(Vec::new()).await.map(|_| ())
    }

    /// Writes and waits for the commit: what every acknowledged registry RPC uses.
    pub async fn commit(&self, events: Vec<Event>) -> Result<Vec<u64>, StoreError> {
        let done = self.enqueue(events, Vec::new()).await?;
        done.await
            .map_err(|_| StoreError::Unavailable("writer stopped before committing".into()))?
    }

    /// Loads the registry state into the in-memory indexes the hot path reads.
    pub async fn load_registry(
        &self,
        registry: &InMemoryRegistry,
    ) -> Result<(usize, usize), StoreError> {
        use futures::TryStreamExt;
        let mut consents = 0;
        let mut rows = sqlx::query("SELECT consent_id, msisdn, enterprise, channel, evidence_ref, evidence_sha256, scope, granted_at_ns, expires_at_ns, revoked_at_ns, recorded_at_ns FROM consents")
            .fetch(&self.read);
        while let Some(row) = rows.try_next().await? {
            let c = consent_from_row(&row)?;
            writer::apply_to_registry(registry, &Event::ConsentGranted(c));
            consents += 1;
        }
        drop(rows);
        // Streamed, three columns, no owned row: ten million opt-outs must not mean ten million
        // decoded rows in memory at once.
        let mut opt_outs = 0;
        let mut rows =
            sqlx::query("SELECT msisdn, enterprise, scope FROM opt_outs WHERE opted_out = 1")
                .fetch(&self.read);
        while let Some(row) = rows.try_next().await? {
            let msisdn: &str = row.try_get("msisdn")?;
            let enterprise: &str = row.try_get("enterprise")?;
            let scope = writer::scope_from_bits(row.try_get::<i64, _>("scope")? as u8);
            if let (Some(m), Some(scope)) = (crate::domain::Msisdn::parse(msisdn), scope) {
                registry.opt_out(m, (!enterprise.is_empty()).then_some(enterprise), scope);
                opt_outs += 1;
            }
        }
        Ok((consents, opt_outs))
    }

    /// Final decisions still within their idempotency TTL, oldest first.
    pub async fn load_idempotency(&self, now_s: i64) -> Result<Vec<IdempotencyRow>, StoreError> {
        let rows = sqlx::query("SELECT sender_port, message_id, verdict, decision_id, text_hash, until_s, decided_at_s, msisdn, enterprise, category, dup_hash, decision FROM idempotency WHERE until_s > ? ORDER BY decided_at_s")
            .bind(now_s)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(IdempotencyRow::from_row).collect()
    }

    /// The operator blocks in force.
    pub async fn region_blocks(&self) -> Result<Vec<event::RegionBlockRow>, StoreError> {
        let rows = sqlx::query("SELECT province, enterprise, categories, reason, operator, since_ns FROM region_blocks ORDER BY since_ns")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(event::RegionBlockRow {
                    province: r.try_get("province")?,
                    enterprise: r.try_get("enterprise")?,
                    categories: r.try_get::<i64, _>("categories")? as u8,
                    reason: r.try_get("reason")?,
                    operator: r.try_get("operator")?,
                    at_ns: r.try_get("since_ns")?,
                })
            })
            .collect()
    }

    /// The SetRegionPolicy overrides ("" = the default).
    pub async fn region_policies(
        &self,
    ) -> Result<Vec<(String, crate::throttle::RegionPolicy)>, StoreError> {
        let rows = sqlx::query("SELECT province, warn_rate, throttle_rate, block_rate, release_rate, min_messages, min_complaints, throttle_msgs_per_s FROM region_policies")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("province")?,
                    crate::throttle::RegionPolicy {
                        warn_rate: r.try_get("warn_rate")?,
                        throttle_rate: r.try_get("throttle_rate")?,
                        block_rate: r.try_get("block_rate")?,
                        release_rate: r.try_get("release_rate")?,
                        min_messages: r.try_get::<i64, _>("min_messages")? as u64,
                        min_complaints: r.try_get::<i64, _>("min_complaints")? as u32,
                        throttle_msgs_per_s: r.try_get("throttle_msgs_per_s")?,
                    },
                ))
            })
            .collect()
    }

    /// (province, enterprise, received_at_ns) of the complaints since `since_ns`, oldest first: what
    /// the complaint-rate windows are rebuilt from at start.
    pub async fn complaints_since(
        &self,
        since_ns: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT province, enterprise, received_at_ns FROM complaints WHERE received_at_ns >= ? ORDER BY received_at_ns",
        )
        .bind(since_ns)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("province")?,
                    r.try_get("enterprise")?,
                    r.try_get("received_at_ns")?,
                ))
            })
            .collect()
    }

    /// Campaign fingerprints of the complaints since `since_ns` (from the audit records, which keep
    /// them), oldest first.
    pub async fn complaint_fingerprints(
        &self,
        since_ns: i64,
    ) -> Result<Vec<(u128, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT json_extract(payload, '$.fingerprint') AS fp, at_ns FROM audit_events \
             WHERE kind = 'complaint' AND at_ns >= ? AND payload IS NOT NULL ORDER BY at_ns",
        )
        .bind(since_ns)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let fp: Option<String> = r.try_get("fp")?;
            let at: i64 = r.try_get("at_ns")?;
            if let Some(fp) = fp.and_then(|f| u128::from_str_radix(&f, 16).ok()) {
                out.push((fp, at));
            }
        }
        Ok(out)
    }

    /// Registry events (everything but decisions) for a subscriber and/or enterprise, oldest first
    /// (Compliance.ConsentHistory).
    pub async fn registry_events(
        &self,
        msisdn: Option<&str>,
        enterprise: Option<&str>,
        range_ns: (Option<i64>, Option<i64>),
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, at_ns, payload, hash FROM audit_events WHERE kind NOT IN ('decision', 'feedback', 'region_blocked', 'region_unblocked', 'region_policy_set', 'compliance_query') \
             AND (?1 IS NULL OR msisdn = ?1) AND (?2 IS NULL OR enterprise = ?2) \
             AND (?3 IS NULL OR at_ns >= ?3) AND (?4 IS NULL OR at_ns < ?4) ORDER BY seq",
        )
        .bind(msisdn)
        .bind(enterprise)
        .bind(range_ns.0)
        .bind(range_ns.1)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(StoredEvent::from_row).collect()
    }

    /// Audited decisions matching the filters, oldest first (Compliance.Decisions).
    pub async fn decisions(
        &self,
        filter: &DecisionFilter<'_>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, at_ns, payload, hash FROM audit_events WHERE kind = 'decision' \
             AND (?1 IS NULL OR msisdn = ?1) AND (?2 IS NULL OR sender_port = ?2) AND (?3 IS NULL OR message_id = ?3) \
             AND (?4 IS NULL OR enterprise = ?4) AND (?5 IS NULL OR at_ns >= ?5) AND (?6 IS NULL OR at_ns < ?6) \
             ORDER BY seq LIMIT ?7",
        )
        .bind(filter.msisdn)
        .bind(filter.sender_port)
        .bind(filter.message_id)
        .bind(filter.enterprise)
        .bind(filter.from_ns)
        .bind(filter.to_ns)
        .bind(i64::from(filter.limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(StoredEvent::from_row).collect()
    }

    /// The audited decision `decision_id`, looked up near `around_ns` (decision ids are UUID v7:
    /// their time is the decision's, to the millisecond), or None.
    pub async fn decision_by_id(
        &self,
        decision_id: &str,
        around_ns: i64,
    ) -> Result<Option<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, kind, at_ns, payload, hash FROM audit_events WHERE kind = 'decision' \
             AND at_ns BETWEEN ?1 AND ?2 AND json_extract(payload, '$.decision_id') = ?3 LIMIT 1",
        )
        .bind(around_ns.saturating_sub(2_000_000_000))
        .bind(around_ns.saturating_add(2_000_000_000))
        .bind(decision_id)
        .fetch_all(&self.read)
        .await?;
        rows.first().map(StoredEvent::from_row).transpose()
    }

    /// Operators' corrections (Operations.Feedback) recorded at or after `since_ns`, oldest first.
    pub async fn feedback(&self, since_ns: i64) -> Result<Vec<StoredEvent>, StoreError> {
        feedback_events(&self.read, since_ns).await
    }

    /// The consent records in force or past for a pair (RevokeConsent picks from these).
    pub async fn consents_for(
        &self,
        msisdn: &str,
        enterprise: &str,
    ) -> Result<Vec<ConsentRow>, StoreError> {
        let rows = sqlx::query("SELECT consent_id, msisdn, enterprise, channel, evidence_ref, evidence_sha256, scope, granted_at_ns, expires_at_ns, revoked_at_ns, recorded_at_ns FROM consents WHERE msisdn = ? AND enterprise = ? ORDER BY granted_at_ns")
            .bind(msisdn)
            .bind(enterprise)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(consent_from_row).collect()
    }

    pub async fn verify(&self, expect: Option<&Head>) -> Result<VerifyReport, StoreError> {
        verify_chain(&self.read, expect).await
    }

    pub async fn head(&self) -> Result<Head, StoreError> {
        head(&self.read).await
    }
}

/// Store settings from `[store]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Cap on the database size in MiB (0 = only the disk limits it).
    pub max_size_mb: u64,
    /// Writes queued for the writer at most (see `DEFAULT_WRITE_QUEUE`).
    pub write_queue: usize,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            max_size_mb: 0,
            write_queue: DEFAULT_WRITE_QUEUE,
        }
    }
}

/// Filters of Compliance.Decisions.
#[derive(Debug, Default)]
pub struct DecisionFilter<'a> {
    pub msisdn: Option<&'a str>,
    pub sender_port: Option<&'a str>,
    pub message_id: Option<&'a str>,
    pub enterprise: Option<&'a str>,
    pub from_ns: Option<i64>,
    pub to_ns: Option<i64>,
    pub limit: u32,
}

/// One record of the chain as read back.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub seq: u64,
    pub kind: String,
    pub at_ns: i64,
    /// None for a purged record.
    pub event: Option<Event>,
    pub hash: String,
}

impl StoredEvent {
    fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<StoredEvent, StoreError> {
        let payload: Option<String> = row.try_get("payload")?;
        let seq: i64 = row.try_get("seq")?;
        let event = match payload {
            Some(p) => Some(serde_json::from_str(&p).map_err(|e| {
                StoreError::Corrupt(format!("audit record {seq}: undecodable payload: {e}"))
            })?),
            None => None,
        };
        Ok(StoredEvent {
            seq: seq as u64,
            kind: row.try_get("kind")?,
            at_ns: row.try_get("at_ns")?,
            event,
            hash: row.try_get("hash")?,
        })
    }
}

fn consent_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<ConsentRow, StoreError> {
    Ok(ConsentRow {
        consent_id: row.try_get("consent_id")?,
        msisdn: row.try_get("msisdn")?,
        enterprise: row.try_get("enterprise")?,
        channel: row.try_get("channel")?,
        evidence_ref: row.try_get("evidence_ref")?,
        evidence_sha256: row.try_get("evidence_sha256")?,
        scope: row.try_get::<i64, _>("scope")? as u8,
        granted_at_ns: row.try_get("granted_at_ns")?,
        expires_at_ns: row.try_get("expires_at_ns")?,
        revoked_at_ns: row.try_get("revoked_at_ns")?,
        recorded_at_ns: row.try_get("recorded_at_ns")?,
    })
}

fn opt_out_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<OptOutRow, StoreError> {
    Ok(OptOutRow {
        record_id: row.try_get("record_id")?,
        msisdn: row.try_get("msisdn")?,
        enterprise: row.try_get("enterprise")?,
        scope: row.try_get::<i64, _>("scope")? as u8,
        opted_out: row.try_get::<i64, _>("opted_out")? != 0,
        channel: row.try_get("channel")?,
        at_ns: row.try_get("at_ns")?,
    })
}

/// Opens a stopped daemon's store read-only (for `audit verify|head --data-dir`).
pub async fn open_read_only(data_dir: &Path) -> Result<SqlitePool, StoreError> {
    let db = data_dir.join(DB_FILE);
    if !db
        .try_exists()
        .map_err(|e| StoreError::DataDir(data_dir.to_path_buf(), e.to_string()))?
    {
        return Err(StoreError::DataDir(
            data_dir.to_path_buf(),
            format!("{DB_FILE} not found"),
        ));
    }
    let options =
        SqliteConnectOptions::from_str(&format!("sqlite://{}", db.display()))?.read_only(true);
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await?)
}

/// Operators' corrections recorded at or after `since_ns`, oldest first (the daemon's store, or a
/// stopped daemon's data dir opened by `open_read_only`).
pub async fn feedback_events(
    pool: &SqlitePool,
    since_ns: i64,
) -> Result<Vec<StoredEvent>, StoreError> {
    let rows = sqlx::query(
        "SELECT seq, kind, at_ns, payload, hash FROM audit_events WHERE kind = 'feedback' \
         AND at_ns >= ? AND payload IS NOT NULL ORDER BY seq",
    )
    .bind(since_ns)
    .fetch_all(pool)
    .await?;
    rows.iter().map(StoredEvent::from_row).collect()
}

pub async fn head(pool: &SqlitePool) -> Result<Head, StoreError> {
    let row =
        sqlx::query("SELECT last_seq, hash FROM audit_batches ORDER BY batch_id DESC LIMIT 1")
            .fetch_optional(pool)
            .await?;
    Ok(match row {
        Some(r) => Head {
            seq: r.try_get::<i64, _>("last_seq")? as u64,
            hash: r.try_get("hash")?,
        },
        None => Head {
            seq: 0,
            hash: audit::to_hex(&GENESIS),
        },
    })
}

/// Re-walks the chain batch by batch, then replays the events and compares the state tables.
pub async fn verify_chain(
    pool: &SqlitePool,
    expect: Option<&Head>,
) -> Result<VerifyReport, StoreError> {
    let batches = sqlx::query("SELECT batch_id, first_seq, last_seq, prev_hash, hash FROM audit_batches ORDER BY batch_id")
        .fetch_all(pool)
        .await?;
    let mut prev = GENESIS;
    let mut expected_seq: u64 = 1;
    let mut records: u64 = 0;
    let mut head = Head {
        seq: 0,
        hash: audit::to_hex(&GENESIS),
    };
    let mut pinned_seen = expect.is_none_or(|h| h.seq == 0);
    let mut replay = writer::Replay::default();
    let fail = |records: u64, head: Head, seq: u64, detail: String| VerifyReport {
        ok: false,
        records,
        head,
        first_bad_seq: seq.max(1),
        detail,
    };
    for b in &batches {
        let first = b.try_get::<i64, _>("first_seq")? as u64;
        let last = b.try_get::<i64, _>("last_seq")? as u64;
        let batch_id: i64 = b.try_get("batch_id")?;
        let stored_prev: String = b.try_get("prev_hash")?;
        let stored_hash: String = b.try_get("hash")?;
        if first != expected_seq || last < first {
            return Ok(fail(
                records,
                head,
                expected_seq,
                format!(
                    "batch {batch_id}: covers {first}..={last}, expected to start at {expected_seq}"
                ),
            ));
        }
        if stored_prev != audit::to_hex(&prev) {
            return Ok(fail(
                records,
                head,
                first,
                format!("batch {batch_id}: previous-hash link broken"),
            ));
        }
        let rows = sqlx::query("SELECT seq, kind, at_ns, payload, hash FROM audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq")
            .bind(first as i64)
            .bind(last as i64)
            .fetch_all(pool)
            .await?;
        let mut hashes = Vec::with_capacity(rows.len());
        let mut seq = first;
        for r in &rows {
            let row_seq = r.try_get::<i64, _>("seq")? as u64;
            if row_seq != seq {
                return Ok(fail(records, head, seq, format!("record {seq} is missing")));
            }
            let kind: String = r.try_get("kind")?;
            let at_ns: i64 = r.try_get("at_ns")?;
            let payload: Option<String> = r.try_get("payload")?;
            let stored: String = r.try_get("hash")?;
            let Some(stored_bytes) = audit::from_hex(&stored) else {
                return Ok(fail(
                    records,
                    head,
                    seq,
                    format!("record {seq}: hash is not 64 hex characters"),
                ));
            };
            if let Some(p) = &payload {
                if audit::record_hash(seq, &kind, at_ns, p) != stored_bytes {
                    return Ok(fail(
                        records,
                        head,
                        seq,
                        format!("record {seq} ({kind}): content does not match its hash"),
                    ));
                }
                match serde_json::from_str::<Event>(p) {
                    Ok(e) => replay.apply(seq, &e),
                    Err(e) => {
                        return Ok(fail(
                            records,
                            head,
                            seq,
                            format!("record {seq}: undecodable payload: {e}"),
                        ));
                    }
                }
            }
            hashes.push(stored_bytes);
            records += 1;
            seq += 1;
        }
        if seq != last + 1 {
            return Ok(fail(records, head, seq, format!("record {seq} is missing")));
        }
        let computed = audit::batch_hash(&prev, hashes.iter());
        if audit::to_hex(&computed) != stored_hash {
            return Ok(fail(
                records,
                head,
                first,
                format!("batch {batch_id}: batch hash does not match its records"),
            ));
        }
        prev = computed;
        expected_seq = last + 1;
        head = Head {
            seq: last,
            hash: stored_hash,
        };
        if let Some(pin) = expect
            && pin.seq == last
        {
            if pin.hash != head.hash {
                return Ok(fail(
                    records,
                    head,
                    first,
                    format!("pinned head {pin} differs: the chain was rewritten"),
                ));
            }
            pinned_seen = true;
        }
    }
    let orphans: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE seq >= ?")
        .bind(expected_seq as i64)
        .fetch_one(pool)
        .await?;
    if orphans > 0 {
        return Ok(fail(
            records,
            head,
            expected_seq,
            format!("{orphans} record(s) after the last batch are not chained"),
        ));
    }
    if !pinned_seen {
        let pin = expect.map(ToString::to_string).unwrap_or_default();
        return Ok(fail(
            records,
            head,
            0,
            format!(
                "pinned head {pin} is not a batch boundary of this chain: the chain was rewritten or truncated"
            ),
        ));
    }
    if let Some((seq, detail)) = replay.compare(pool).await? {
        return Ok(VerifyReport {
            ok: false,
            records,
            head,
            first_bad_seq: seq,
            detail,
        });
    }
    Ok(VerifyReport {
        ok: true,
        records,
        head,
        first_bad_seq: 0,
        detail: String::new(),
    })
}
