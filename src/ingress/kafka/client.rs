//! librdkafka clients as the at-least-once contract needs them: consumers that never commit on their
//! own (offsets are stored only once every result for them is acknowledged, and committed by us,
//! timed for the commit-latency metric), that commit what is done when partitions are revoked, and
//! report lag per partition; one idempotent producer shared by every pipeline.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::producer::FutureProducer;
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::TopicPartitionList;

use crate::config::KafkaConfig;
use crate::metrics::KafkaMetrics;

pub type EdgeConsumer = rdkafka::consumer::StreamConsumer<EdgeContext>;

/// Per-consumer state the librdkafka callbacks share with the pipeline.
pub struct EdgeContext {
    name: &'static str,
    metrics: Arc<KafkaMetrics>,
    assignment: Mutex<HashSet<(String, i32)>>,
    generation: AtomicU64,
}

impl EdgeContext {
    fn new(name: &'static str, metrics: Arc<KafkaMetrics>) -> EdgeContext {
        EdgeContext {
            name,
            metrics,
            assignment: Mutex::new(HashSet::new()),
            generation: AtomicU64::new(0),
        }
    }

    /// Bumped on every assignment change, so a pipeline holding records can drop the ones whose
    /// partition went to another consumer.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    pub fn owns(&self, topic: &str, partition: i32) -> bool {
        self.assignment
            .lock()
            .map(|a| a.contains(&(topic.to_owned(), partition)))
            .unwrap_or(false)
    }
}

impl ClientContext for EdgeContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, t) in &statistics.topics {
            for (&partition, p) in &t.partitions {
                // Partition -1 is librdkafka's internal "unassigned" bucket; lag -1 means unknown.
                if partition >= 0 && p.consumer_lag >= 0 {
                    self.metrics.lag(topic, partition, p.consumer_lag);
                }
            }
        }
    }

    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        let consumer = self.name;
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => tracing::error!(consumer, fac, "librdkafka: {log_message}"),
            RDKafkaLogLevel::Warning => tracing::warn!(consumer, fac, "librdkafka: {log_message}"),
            _ => tracing::debug!(consumer, fac, "librdkafka: {log_message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(consumer = self.name, error = %error, "kafka: {reason}");
    }
}

impl ConsumerContext for EdgeContext {
    fn pre_rebalance(&self, base_consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            // What is done (stored offsets) is committed before another consumer takes over; what
            // is still in flight is redelivered to it.
            let started = Instant::now();
            match base_consumer.commit_consumer_state(CommitMode::Sync) {
                Ok(()) => self
                    .metrics
                    .commit_duration
                    .record(started.elapsed().as_secs_f64()),
                Err(e) if is_nothing_to_commit(&e) => {}
                Err(e) => {
                    self.metrics.commit_errors.increment(1);
                    tracing::warn!(consumer = self.name, error = %e, "commit before revoke failed; those records are redelivered");
                }
            }
            tracing::info!(
                consumer = self.name,
                partitions = tpl.count(),
                "partitions revoked"
            );
        }
    }

    fn post_rebalance(&self, _base_consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Ok(mut assignment) = self.assignment.lock() else {
            return;
        };
        match rebalance {
            Rebalance::Assign(tpl) => {
                assignment.clear();
                for e in tpl.elements() {
                    assignment.insert((e.topic().to_owned(), e.partition()));
                }
                tracing::info!(
                    consumer = self.name,
                    partitions = assignment.len(),
                    "partitions assigned"
                );
            }
            Rebalance::Revoke(tpl) => {
                for e in tpl.elements() {
                    assignment.remove(&(e.topic().to_owned(), e.partition()));
                }
            }
            Rebalance::Error(e) => {
                tracing::warn!(consumer = self.name, error = %e, "rebalance failed");
            }
        }
        self.generation.fetch_add(1, Ordering::AcqRel);
    }

    fn commit_callback(&self, result: KafkaResult<()>, _offsets: &TopicPartitionList) {
        if let Err(e) = result
            && !is_nothing_to_commit(&e)
        {
            tracing::warn!(consumer = self.name, error = %e, "offset commit failed; records after the last commit are redelivered");
        }
    }
}

fn is_nothing_to_commit(e: &KafkaError) -> bool {
    e.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset)
}

fn base_config(cfg: &KafkaConfig) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", &cfg.brokers);
    for (k, v) in &cfg.client {
        c.set(k, v);
    }
    c.set_log_level(RDKafkaLogLevel::Warning);
    c
}

/// A consumer of `topics` in `group` that stores and commits offsets only when told to.
pub fn consumer(
    cfg: &KafkaConfig,
    name: &'static str,
    group: &str,
    topics: &[&str],
    metrics: Arc<KafkaMetrics>,
) -> KafkaResult<Arc<EdgeConsumer>> {
    let mut c = base_config(cfg);
    c.set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("statistics.interval.ms", "5000");
    if !cfg.client.iter().any(|(k, _)| k == "auto.offset.reset") {
        // A new group starts at the beginning: records put on the topic before the first start
        // are screened, not skipped.
        c.set("auto.offset.reset", "earliest");
    }
    let consumer: EdgeConsumer = c.create_with_context(EdgeContext::new(name, metrics))?;
    consumer.subscribe(topics)?;
    Ok(Arc::new(consumer))
}

/// The idempotent producer: acks from all in-sync replicas, no duplicates or reordering from its own
/// retries.
pub fn producer(cfg: &KafkaConfig) -> KafkaResult<FutureProducer> {
    let mut c = base_config(cfg);
    c.set("enable.idempotence", "true").set("acks", "all");
    if !cfg.client.iter().any(|(k, _)| k == "linger.ms") {
        c.set("linger.ms", "5");
    }
    c.create()
}

/// Commits the stored offsets and waits for the broker's answer, timed for the commit-latency
/// metric (every commit interval, at shutdown). A round trip of a millisecond or two on a worker
/// thread, twice a second.
pub fn commit(consumer: &EdgeConsumer) {
    let started = Instant::now();
    match consumer.commit_consumer_state(CommitMode::Sync) {
        Ok(()) => consumer
            .context()
            .metrics
            .commit_duration
            .record(started.elapsed().as_secs_f64()),
        Err(e) if is_nothing_to_commit(&e) => {}
        Err(e) => {
            consumer.context().metrics.commit_errors.increment(1);
            tracing::warn!(error = %e, "final offset commit failed; records after the last commit are redelivered");
        }
    }
}
