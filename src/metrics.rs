//! Every metric Portcullis exports, with its unit and HELP text (API.md: names start with
//! `portcullis_`, counters end in `_total`). Handles are registered once at start-up in arrays indexed
//! by enums, so the hot path only increments; other modules never use the `metrics` macros.

use std::sync::OnceLock;

use metrics::{Counter, Gauge, Histogram, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::domain::Category;
use crate::pipeline::verdict::{REASON_SLOTS, Verdict, reason_name};
use crate::proto::ReasonCode;

pub const DECISIONS_TOTAL: &str = "portcullis_decisions_total";
pub const SCREEN_DURATION_SECONDS: &str = "portcullis_screen_duration_seconds";
pub const CONFIG_RELOADS_TOTAL: &str = "portcullis_config_reloads_total";
pub const MONITOR_OVERRIDES_TOTAL: &str = "portcullis_monitor_overrides_total";
pub const MALFORMED_REQUESTS_TOTAL: &str = "portcullis_malformed_requests_total";
pub const SNAPSHOT_GENERATION: &str = "portcullis_config_generation";
pub const SENDERS: &str = "portcullis_registry_senders";
pub const IDEMPOTENCY_ENTRIES: &str = "portcullis_idempotency_entries";
pub const HELD_ENTRIES: &str = "portcullis_held_messages";
pub const STREAMS_ACTIVE: &str = "portcullis_screen_streams_active";
pub const BUILD_INFO: &str = "portcullis_build_info";
pub const STORE_COMMIT_SECONDS: &str = "portcullis_store_commit_duration_seconds";
pub const STORE_EVENTS_TOTAL: &str = "portcullis_store_events_total";
pub const STORE_WRITE_ERRORS_TOTAL: &str = "portcullis_store_write_errors_total";
pub const STORE_BACKPRESSURE_TOTAL: &str = "portcullis_store_backpressure_total";
pub const STORE_QUEUE_DEPTH: &str = "portcullis_store_queue_depth";
pub const STORE_AVAILABLE: &str = "portcullis_store_available";
pub const STORE_UNAVAILABLE_TOTAL: &str = "portcullis_store_unavailable_total";
pub const REGISTRY_ENTRIES: &str = "portcullis_registry_entries";
pub const REGION_COMPLAINT_RATE: &str = "portcullis_region_complaint_rate_ratio";
pub const REGION_THROTTLE_LEVEL: &str = "portcullis_region_throttle_level";
pub const REGION_ENTERPRISE_THROTTLE_LEVEL: &str = "portcullis_region_enterprise_throttle_level";
pub const SEGMENTS_TOTAL: &str = "portcullis_segments_total";
pub const CONCAT_PARTS_PENDING: &str = "portcullis_concat_parts_pending";
pub const CONCAT_MESSAGES_TOTAL: &str = "portcullis_concat_messages_total";
pub const KAFKA_RECORDS_IN_TOTAL: &str = "portcullis_kafka_records_in_total";
pub const KAFKA_RECORDS_OUT_TOTAL: &str = "portcullis_kafka_records_out_total";
pub const KAFKA_DEAD_LETTERS_TOTAL: &str = "portcullis_kafka_dead_letters_total";
pub const KAFKA_COMMIT_SECONDS: &str = "portcullis_kafka_commit_duration_seconds";
pub const KAFKA_COMMIT_ERRORS_TOTAL: &str = "portcullis_kafka_commit_errors_total";
pub const KAFKA_CONSUMER_LAG: &str = "portcullis_kafka_consumer_lag_messages";
pub const KAFKA_HOLDS_PENDING: &str = "portcullis_kafka_holds_pending";
pub const KAFKA_DECISIONS_DROPPED_TOTAL: &str = "portcullis_kafka_decisions_dropped_total";
pub const LIMIT_HITS_TOTAL: &str = "portcullis_limit_hits_total";
pub const ACCESS_DENIED_TOTAL: &str = "portcullis_access_denied_total";
pub const TLS_HANDSHAKE_FAILURES_TOTAL: &str = "portcullis_tls_handshake_failures_total";
pub const TLS_CERT_EXPIRY: &str = "portcullis_tls_certificate_expiry_timestamp_seconds";

/// Label for "no reason" (a clean release) and "no category" (an emergency release).
const NONE: &str = "NONE";
const VERDICTS: [Verdict; 3] = [Verdict::Release, Verdict::Hold, Verdict::Reject];
const CATEGORY_SLOTS: usize = 8;

/// Installs the Prometheus recorder once per process and returns its handle (tests start several
/// daemons in one process; they share the recorder).
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(&[
                    1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 1e-2,
                    0.1, 1.0,
                ])
                .expect("the bucket list is a non-empty constant")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder can only be present if an embedding program installed one; then our
            // metrics go to it and /metrics shows what this handle holds.
            let _ = metrics::set_global_recorder(recorder);
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        DECISIONS_TOTAL,
        Unit::Count,
        "Screening decisions by verdict, deciding reason and category."
    );
    metrics::describe_histogram!(
        SCREEN_DURATION_SECONDS,
        Unit::Seconds,
        "Time to screen one message in the synchronous pipeline."
    );
    metrics::describe_counter!(
        CONFIG_RELOADS_TOTAL,
        Unit::Count,
        "Configuration reloads by result (ok, error, refused)."
    );
    metrics::describe_counter!(
        MONITOR_OVERRIDES_TOTAL,
        Unit::Count,
        "Messages released only because a rule is in monitor (shadow) mode, by rule."
    );
    metrics::describe_counter!(
        MALFORMED_REQUESTS_TOTAL,
        Unit::Count,
        "Malformed screening requests by field."
    );
    metrics::describe_gauge!(
        SNAPSHOT_GENERATION,
        Unit::Count,
        "Generation of the live configuration snapshot."
    );
    metrics::describe_gauge!(SENDERS, Unit::Count, "Ports in the live sender registry.");
    metrics::describe_gauge!(
        IDEMPOTENCY_ENTRIES,
        Unit::Count,
        "Final decisions kept for idempotency."
    );
    metrics::describe_gauge!(
        HELD_ENTRIES,
        Unit::Count,
        "Messages currently held (HOLD not yet final)."
    );
    metrics::describe_gauge!(STREAMS_ACTIVE, Unit::Count, "Open ScreenStream calls.");
    metrics::describe_counter!(
        SEGMENTS_TOTAL,
        Unit::Count,
        "SMS segments of finally decided messages (a long SMS counts every part), by verdict."
    );
    metrics::describe_gauge!(
        CONCAT_PARTS_PENDING,
        Unit::Count,
        "Parts of long SMS held in memory waiting for the rest of their message."
    );
    metrics::describe_counter!(
        CONCAT_MESSAGES_TOTAL,
        Unit::Count,
        "Long SMS by outcome: completed (screened whole), incomplete (deadline), evicted (cap on pending parts)."
    );
    metrics::describe_counter!(
        KAFKA_RECORDS_IN_TOTAL,
        Unit::Count,
        "Kafka records consumed, by topic."
    );
    metrics::describe_counter!(
        KAFKA_RECORDS_OUT_TOTAL,
        Unit::Count,
        "Kafka records produced and acknowledged by the broker, by topic."
    );
    metrics::describe_counter!(
        KAFKA_DEAD_LETTERS_TOTAL,
        Unit::Count,
        "Records sent to the dead-letter topic, by cause."
    );
    metrics::describe_histogram!(
        KAFKA_COMMIT_SECONDS,
        Unit::Seconds,
        "Time to commit consumer offsets (request to broker acknowledgement)."
    );
    metrics::describe_counter!(
        KAFKA_COMMIT_ERRORS_TOTAL,
        Unit::Count,
        "Offset commits the broker refused or that failed; the records are redelivered."
    );
    metrics::describe_gauge!(
        KAFKA_CONSUMER_LAG,
        Unit::Count,
        "Consumer lag per topic and partition: messages between the committed offset and the high watermark."
    );
    metrics::describe_gauge!(
        KAFKA_HOLDS_PENDING,
        Unit::Count,
        "Records from the held topic waiting in memory for their hold_until."
    );
    metrics::describe_counter!(
        KAFKA_DECISIONS_DROPPED_TOTAL,
        Unit::Count,
        "Audit records not sent to the decisions topic because its queue was full (the store keeps them)."
    );
    metrics::describe_histogram!(
        STORE_COMMIT_SECONDS,
        Unit::Seconds,
        "Time to commit one batch of the store writer (one write transaction)."
    );
    metrics::describe_counter!(
        STORE_EVENTS_TOTAL,
        Unit::Count,
        "Events (registry changes and audited decisions) committed to the store."
    );
    metrics::describe_counter!(
        STORE_WRITE_ERRORS_TOTAL,
        Unit::Count,
        "Store write batches that failed; none of their requests was acknowledged."
    );
    metrics::describe_counter!(
        STORE_BACKPRESSURE_TOTAL,
        Unit::Count,
        "Writes that found the store writer's queue full: they waited for room, or a unary Screen was refused."
    );
    metrics::describe_gauge!(
        STORE_QUEUE_DEPTH,
        Unit::Count,
        "Write requests waiting for the store writer after its last batch."
    );
    metrics::describe_gauge!(
        REGISTRY_ENTRIES,
        Unit::Count,
        "Entries in the in-memory registry indexes, by kind (consent_pairs, opt_outs, enterprises)."
    );
    metrics::describe_gauge!(
        REGION_COMPLAINT_RATE,
        "Complaints per released commercial message into a province over the complaint-rate window."
    );
    metrics::describe_gauge!(
        REGION_THROTTLE_LEVEL,
        "Complaint-rate level of a province: 0 normal, 1 warn, 2 throttled, 3 blocked."
    );
    metrics::describe_gauge!(
        REGION_ENTERPRISE_THROTTLE_LEVEL,
        "Complaint-rate level of an enterprise in a province (pairs above normal): 0 normal, 1 warn, 2 throttled, 3 blocked."
    );
    metrics::describe_gauge!(
        STORE_AVAILABLE,
        "1 while the store commits writes; 0 after a failed batch or once its writer has stopped."
    );
    metrics::describe_counter!(
        STORE_UNAVAILABLE_TOTAL,
        "Writes refused UNAVAILABLE, by op (write: their batch failed; writer_stopped: no writer)."
    );
    metrics::describe_counter!(
        LIMIT_HITS_TOTAL,
        "Requests refused or slowed by a limit, by limit (request_size, concurrent_streams, client_rate, screen_queue)."
    );
    metrics::describe_counter!(
        ACCESS_DENIED_TOTAL,
        "gRPC requests refused by access control, by code (unauthenticated, permission_denied)."
    );
    metrics::describe_counter!(
        TLS_HANDSHAKE_FAILURES_TOTAL,
        "TLS handshakes on the gRPC listener that failed or timed out."
    );
    metrics::describe_gauge!(
        TLS_CERT_EXPIRY,
        Unit::Seconds,
        "When the served gRPC certificate expires (notAfter), unix seconds."
    );
    metrics::describe_gauge!(
        BUILD_INFO,
        Unit::Count,
        "Always 1; the version label says which build runs."
    );
}

/// Pre-registered handles.
pub struct Metrics {
    decisions: Vec<Counter>,
    pub screen_duration: Histogram,
    reload_ok: Counter,
    reload_error: Counter,
    reload_refused: Counter,
    monitor_overrides: Vec<Counter>,
    pub generation: Gauge,
    pub senders: Gauge,
    pub idempotency_entries: Gauge,
    pub held_entries: Gauge,
    pub streams_active: Gauge,
    segments: [Counter; 2],
    pub concat_parts_pending: Gauge,
    pub concat_completed: Counter,
    pub concat_incomplete: Counter,
    pub concat_evicted: Counter,
}

#[derive(Debug, Clone, Copy)]
pub enum ReloadResult {
    Ok,
    Error,
    Refused,
}

fn verdict_index(v: Verdict) -> usize {
    match v {
        Verdict::Release => 0,
        Verdict::Hold => 1,
        Verdict::Reject => 2,
    }
}

fn category_slot(c: Option<Category>) -> usize {
    c.map_or(CATEGORY_SLOTS - 1, Category::index)
}

impl Metrics {
    pub fn register() -> Metrics {
        install();
        let mut decisions = Vec::with_capacity(3 * REASON_SLOTS * CATEGORY_SLOTS);
        for verdict in VERDICTS {
            for reason in 0..REASON_SLOTS {
                let reason_label = match ReasonCode::try_from(reason as i32) {
                    Ok(ReasonCode::ReasonUnspecified) | Err(_) => NONE,
                    Ok(code) => reason_name(code),
                };
                for slot in 0..CATEGORY_SLOTS {
                    let category = Category::ALL.get(slot).map_or(NONE, |c| c.as_str());
                    decisions.push(metrics::counter!(
                        DECISIONS_TOTAL,
                        "verdict" => verdict.as_str(),
                        "reason" => reason_label,
                        "category" => category
                    ));
                }
            }
        }
        let monitor_overrides = (0..REASON_SLOTS)
            .map(|r| {
                let rule = ReasonCode::try_from(r as i32).map_or(NONE, |c| reason_name(c));
                metrics::counter!(MONITOR_OVERRIDES_TOTAL, "rule" => rule)
            })
            .collect();
        metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        Metrics {
            decisions,
            screen_duration: metrics::histogram!(SCREEN_DURATION_SECONDS),
            reload_ok: metrics::counter!(CONFIG_RELOADS_TOTAL, "result" => "ok"),
            reload_error: metrics::counter!(CONFIG_RELOADS_TOTAL, "result" => "error"),
            reload_refused: metrics::counter!(CONFIG_RELOADS_TOTAL, "result" => "refused"),
            monitor_overrides,
            generation: metrics::gauge!(SNAPSHOT_GENERATION),
            senders: metrics::gauge!(SENDERS),
            idempotency_entries: metrics::gauge!(IDEMPOTENCY_ENTRIES),
            held_entries: metrics::gauge!(HELD_ENTRIES),
            streams_active: metrics::gauge!(STREAMS_ACTIVE),
            segments: [
                metrics::counter!(SEGMENTS_TOTAL, "verdict" => Verdict::Release.as_str()),
                metrics::counter!(SEGMENTS_TOTAL, "verdict" => Verdict::Reject.as_str()),
            ],
            concat_parts_pending: metrics::gauge!(CONCAT_PARTS_PENDING),
            concat_completed: metrics::counter!(CONCAT_MESSAGES_TOTAL, "outcome" => "completed"),
            concat_incomplete: metrics::counter!(CONCAT_MESSAGES_TOTAL, "outcome" => "incomplete"),
            concat_evicted: metrics::counter!(CONCAT_MESSAGES_TOTAL, "outcome" => "evicted"),
        }
    }

    pub fn decision(
        &self,
        verdict: Verdict,
        reason: Option<ReasonCode>,
        category: Option<Category>,
    ) {
        let r = reason.map_or(0, |c| c as usize);
        let i =
            (verdict_index(verdict) * REASON_SLOTS + r) * CATEGORY_SLOTS + category_slot(category);
        if let Some(c) = self.decisions.get(i) {
            c.increment(1);
        }
    }

    /// Segments of a decision (`verdict` is the proto value); holds are counted when they end.
    pub fn segments(&self, verdict: i32, segments: u32) {
        let slot = if verdict == crate::proto::Verdict::Release as i32 {
            0
        } else if verdict == crate::proto::Verdict::Reject as i32 {
            1
        } else {
            return;
        };
        self.segments[slot].increment(u64::from(segments));
    }

    pub fn monitor_override(&self, rule: ReasonCode) {
        if let Some(c) = self.monitor_overrides.get(rule as usize) {
            c.increment(1);
        }
    }

    pub fn reload(&self, result: ReloadResult) {
        match result {
            ReloadResult::Ok => self.reload_ok.increment(1),
            ReloadResult::Error => self.reload_error.increment(1),
            ReloadResult::Refused => self.reload_refused.increment(1),
        }
    }

    pub fn malformed(&self, field: &'static str) {
        metrics::counter!(MALFORMED_REQUESTS_TOTAL, "field" => field).increment(1);
    }
}

/// The store writer's handles.
pub struct StoreMetrics {
    pub commit_duration: Histogram,
    pub events: Counter,
    pub write_errors: Counter,
    pub backpressure: Counter,
    pub queue_depth: Gauge,
    pub tap_dropped: Counter,
    pub available: Gauge,
    /// Writes refused UNAVAILABLE because their batch failed.
    pub unavailable_write: Counter,
    /// Writes refused UNAVAILABLE because the writer had stopped.
    pub unavailable_stopped: Counter,
}

impl StoreMetrics {
    pub fn register() -> StoreMetrics {
        install();
        StoreMetrics {
            commit_duration: metrics::histogram!(STORE_COMMIT_SECONDS),
            events: metrics::counter!(STORE_EVENTS_TOTAL),
            write_errors: metrics::counter!(STORE_WRITE_ERRORS_TOTAL),
            backpressure: metrics::counter!(STORE_BACKPRESSURE_TOTAL),
            queue_depth: metrics::gauge!(STORE_QUEUE_DEPTH),
            tap_dropped: metrics::counter!(KAFKA_DECISIONS_DROPPED_TOTAL),
            available: metrics::gauge!(STORE_AVAILABLE),
            unavailable_write: metrics::counter!(STORE_UNAVAILABLE_TOTAL, "op" => "write"),
            unavailable_stopped: metrics::counter!(STORE_UNAVAILABLE_TOTAL, "op" => "writer_stopped"),
        }
    }
}

/// Sizes of the registry indexes (consent pairs, opt-outs, interned enterprise ids).
pub fn registry_sizes(consents: usize, opt_outs: usize, enterprises: usize) {
    metrics::gauge!(REGISTRY_ENTRIES, "kind" => "consent_pairs").set(consents as f64);
    metrics::gauge!(REGISTRY_ENTRIES, "kind" => "opt_outs").set(opt_outs as f64);
    metrics::gauge!(REGISTRY_ENTRIES, "kind" => "enterprises").set(enterprises as f64);
}

/// Per-province complaint rate and level; per-enterprise levels for the bounded set above NORMAL
/// (a pair that returns to NORMAL is set to 0 once and then no longer updated).
pub fn throttle_levels(
    provinces: &[(String, f64, crate::throttle::region::Level)],
    states: &[crate::throttle::region::ThrottleState],
    reported: &mut std::collections::HashSet<(String, String)>,
) {
    use crate::throttle::region::Level;
    let value = |l: Level| match l {
        Level::Normal => 0.0,
        Level::Warn => 1.0,
        Level::Throttled => 2.0,
        Level::Blocked => 3.0,
    };
    for (province, rate, level) in provinces {
        metrics::gauge!(REGION_COMPLAINT_RATE, "province" => province.clone()).set(*rate);
        metrics::gauge!(REGION_THROTTLE_LEVEL, "province" => province.clone()).set(value(*level));
    }
    let mut current = std::collections::HashSet::new();
    for s in states
        .iter()
        .filter(|s| !s.enterprise.is_empty() && !s.manual)
    {
        metrics::gauge!(REGION_ENTERPRISE_THROTTLE_LEVEL, "province" => s.province.clone(), "enterprise" => s.enterprise.clone())
            .set(value(s.level));
        current.insert((s.province.clone(), s.enterprise.clone()));
    }
    for (province, enterprise) in reported.difference(&current) {
        metrics::gauge!(REGION_ENTERPRISE_THROTTLE_LEVEL, "province" => province.clone(), "enterprise" => enterprise.clone())
            .set(0.0);
    }
    *reported = current;
}

/// The Kafka edge's handles (label values are bounded: topics from config, causes from a fixed set).
pub struct KafkaMetrics {
    pub commit_duration: Histogram,
    pub commit_errors: Counter,
    pub holds_pending: Gauge,
}

impl KafkaMetrics {
    pub fn register() -> KafkaMetrics {
        install();
        KafkaMetrics {
            commit_duration: metrics::histogram!(KAFKA_COMMIT_SECONDS),
            commit_errors: metrics::counter!(KAFKA_COMMIT_ERRORS_TOTAL),
            holds_pending: metrics::gauge!(KAFKA_HOLDS_PENDING),
        }
    }

    pub fn records_in(&self, topic: &str) -> Counter {
        metrics::counter!(KAFKA_RECORDS_IN_TOTAL, "topic" => topic.to_owned())
    }

    pub fn records_out(&self, topic: &str) -> Counter {
        metrics::counter!(KAFKA_RECORDS_OUT_TOTAL, "topic" => topic.to_owned())
    }

    pub fn dead_letter(&self, cause: &'static str) {
        metrics::counter!(KAFKA_DEAD_LETTERS_TOTAL, "cause" => cause).increment(1);
    }

    pub fn lag(&self, topic: &str, partition: i32, lag: i64) {
        metrics::gauge!(KAFKA_CONSUMER_LAG, "topic" => topic.to_owned(), "partition" => partition.to_string())
            .set(lag.max(0) as f64);
    }
}

/// The gRPC edge's handles: access control, limits and TLS.
pub struct EdgeMetrics {
    pub request_size: Counter,
    pub concurrent_streams: Counter,
    pub client_rate: Counter,
    pub screen_queue: Counter,
    pub unauthenticated: Counter,
    pub permission_denied: Counter,
    pub tls_handshake_failures: Counter,
    pub tls_cert_expiry: Gauge,
}

impl EdgeMetrics {
    pub fn register() -> EdgeMetrics {
        install();
        let limit = |name: &'static str| metrics::counter!(LIMIT_HITS_TOTAL, "limit" => name);
        EdgeMetrics {
            request_size: limit("request_size"),
            concurrent_streams: limit("concurrent_streams"),
            client_rate: limit("client_rate"),
            screen_queue: limit("screen_queue"),
            unauthenticated: metrics::counter!(ACCESS_DENIED_TOTAL, "code" => "unauthenticated"),
            permission_denied: metrics::counter!(ACCESS_DENIED_TOTAL, "code" => "permission_denied"),
            tls_handshake_failures: metrics::counter!(TLS_HANDSHAKE_FAILURES_TOTAL),
            tls_cert_expiry: metrics::gauge!(TLS_CERT_EXPIRY),
        }
    }
}
