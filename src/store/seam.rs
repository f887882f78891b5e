//! The seam between the daemon and its store: everything the services, the screening path and the
//! background tasks need, as one trait. `Store` (embedded SQLite) is the implementation shipped
//! today; a PostgreSQL store for a carrier's central deployment implements the same trait (the
//! audit chain, group commit and retention are defined by the events, not by SQLite).

use jiff::Timestamp;
use tokio::sync::oneshot;

use super::audit::{Head, VerifyReport};
use super::event::{ConsentRow, Event, RegionBlockRow};
use super::retention::{PurgeReport, RetentionPolicy};
use super::{Ack, DecisionFilter, IdempotencyRow, Store, StoreError, StoredEvent};
use crate::registry::InMemoryRegistry;
use crate::throttle::RegionPolicy;

#[tonic::async_trait]
pub trait RegistryStore: Send + Sync + 'static {
    /// Writes and waits for the commit: what every acknowledged RPC uses.
    async fn commit(&self, events: Vec<Event>) -> Result<Vec<u64>, StoreError>;
    /// Queues a write (waiting while the queue is full); the receiver resolves on commit.
    async fn enqueue(
        &self,
        events: Vec<Event>,
        idempotency: Vec<IdempotencyRow>,
    ) -> Result<oneshot::Receiver<Ack>, StoreError>;
    /// Takes a place in the write queue without waiting (`Busy` when full).
    fn try_reserve(&self) -> Result<super::WriteSlot, StoreError>;
    /// Waits until everything queued so far is committed.
    async fn flush(&self) -> Result<(), StoreError>;
    /// Audited decisions as they are committed (for the Kafka decisions topic); `None` if taken.
    fn tap_decisions(
        &self,
        capacity: usize,
    ) -> Option<tokio::sync::mpsc::Receiver<super::CommittedDecision>>;

    async fn load_registry(
        &self,
        registry: &InMemoryRegistry,
    ) -> Result<(usize, usize), StoreError>;
    async fn load_idempotency(&self, now_s: i64) -> Result<Vec<IdempotencyRow>, StoreError>;
    /// Drops final decisions past their idempotency TTL at `now_s`, in the background.
    fn prune_idempotency(&self, now_s: i64);
    async fn complaints_since(
        &self,
        since_ns: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError>;
    /// (fingerprint, received_at_ns) of the complaints since `since_ns` that attached to a
    /// campaign, oldest first.
    async fn complaint_fingerprints(&self, since_ns: i64) -> Result<Vec<(u128, i64)>, StoreError>;
    async fn region_blocks(&self) -> Result<Vec<RegionBlockRow>, StoreError>;
    async fn region_policies(&self) -> Result<Vec<(String, RegionPolicy)>, StoreError>;

    async fn consents_for(
        &self,
        msisdn: &str,
        enterprise: &str,
    ) -> Result<Vec<ConsentRow>, StoreError>;
    async fn registry_events(
        &self,
        msisdn: Option<&str>,
        enterprise: Option<&str>,
        range_ns: (Option<i64>, Option<i64>),
    ) -> Result<Vec<StoredEvent>, StoreError>;
    async fn decisions(&self, filter: &DecisionFilter<'_>) -> Result<Vec<StoredEvent>, StoreError>;
    async fn decision_by_id(
        &self,
        decision_id: &str,
        around_ns: i64,
    ) -> Result<Option<StoredEvent>, StoreError>;
    async fn feedback(&self, since_ns: i64) -> Result<Vec<StoredEvent>, StoreError>;
    async fn verify(&self, expect: Option<&Head>) -> Result<VerifyReport, StoreError>;
    async fn head(&self) -> Result<Head, StoreError>;

    async fn apply_retention(
        &self,
        now: Timestamp,
        policy: &RetentionPolicy,
    ) -> Result<PurgeReport, StoreError>;
    async fn request_erasure(
        &self,
        msisdn: &str,
        reason: &str,
        operator: &str,
        erasure_id: String,
        now: Timestamp,
        policy: &RetentionPolicy,
    ) -> Result<(String, u64, Option<i64>), StoreError>;
}

#[tonic::async_trait]
impl RegistryStore for Store {
    async fn commit(&self, events: Vec<Event>) -> Result<Vec<u64>, StoreError> {
        Store::commit(self, events).await
    }
    async fn enqueue(
        &self,
        events: Vec<Event>,
        idempotency: Vec<IdempotencyRow>,
    ) -> Result<oneshot::Receiver<Ack>, StoreError> {
        Store::enqueue(self, events, idempotency).await
    }
    fn try_reserve(&self) -> Result<super::WriteSlot, StoreError> {
        Store::try_reserve(self)
    }
    async fn flush(&self) -> Result<(), StoreError> {
        Store::flush(self).await
    }
    fn tap_decisions(
        &self,
        capacity: usize,
    ) -> Option<tokio::sync::mpsc::Receiver<super::CommittedDecision>> {
        Store::tap_decisions(self, capacity)
    }
    async fn load_registry(
        &self,
        registry: &InMemoryRegistry,
    ) -> Result<(usize, usize), StoreError> {
        Store::load_registry(self, registry).await
    }
    async fn load_idempotency(&self, now_s: i64) -> Result<Vec<IdempotencyRow>, StoreError> {
        Store::load_idempotency(self, now_s).await
    }
    fn prune_idempotency(&self, now_s: i64) {
        Store::prune_idempotency(self, now_s);
    }
    async fn complaints_since(
        &self,
        since_ns: i64,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        Store::complaints_since(self, since_ns).await
    }
    async fn complaint_fingerprints(&self, since_ns: i64) -> Result<Vec<(u128, i64)>, StoreError> {
        Store::complaint_fingerprints(self, since_ns).await
    }
    async fn region_blocks(&self) -> Result<Vec<RegionBlockRow>, StoreError> {
        Store::region_blocks(self).await
    }
    async fn region_policies(&self) -> Result<Vec<(String, RegionPolicy)>, StoreError> {
        Store::region_policies(self).await
    }
    async fn consents_for(
        &self,
        msisdn: &str,
        enterprise: &str,
    ) -> Result<Vec<ConsentRow>, StoreError> {
        Store::consents_for(self, msisdn, enterprise).await
    }
    async fn registry_events(
        &self,
        msisdn: Option<&str>,
        enterprise: Option<&str>,
        range_ns: (Option<i64>, Option<i64>),
    ) -> Result<Vec<StoredEvent>, StoreError> {
        Store::registry_events(self, msisdn, enterprise, range_ns).await
    }
    async fn decisions(&self, filter: &DecisionFilter<'_>) -> Result<Vec<StoredEvent>, StoreError> {
        Store::decisions(self, filter).await
    }
    async fn decision_by_id(
        &self,
        decision_id: &str,
        around_ns: i64,
    ) -> Result<Option<StoredEvent>, StoreError> {
        Store::decision_by_id(self, decision_id, around_ns).await
    }
    async fn feedback(&self, since_ns: i64) -> Result<Vec<StoredEvent>, StoreError> {
        Store::feedback(self, since_ns).await
    }
    async fn verify(&self, expect: Option<&Head>) -> Result<VerifyReport, StoreError> {
        Store::verify(self, expect).await
    }
    async fn head(&self) -> Result<Head, StoreError> {
        Store::head(self).await
    }
    async fn apply_retention(
        &self,
        now: Timestamp,
        policy: &RetentionPolicy,
    ) -> Result<PurgeReport, StoreError> {
        Store::apply_retention(self, now, policy).await
    }
    async fn request_erasure(
        &self,
        msisdn: &str,
        reason: &str,
        operator: &str,
        erasure_id: String,
        now: Timestamp,
        policy: &RetentionPolicy,
    ) -> Result<(String, u64, Option<i64>), StoreError> {
        Store::request_erasure(self, msisdn, reason, operator, erasure_id, now, policy).await
    }
}
