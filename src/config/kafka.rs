//! The `[kafka]` section: whether the Kafka edge runs, where, under which group and topic names, and
//! the librdkafka properties the carrier's cluster needs (SASL, TLS, timeouts) passed through as given.
//! Properties that carry Portcullis' delivery guarantee are set by Portcullis and refused here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, Overrides};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawKafka {
    brokers: String,
    group: String,
    max_batch: usize,
    max_pending_holds: usize,
    msisdn_hash_key_file: Option<PathBuf>,
    topics: RawTopics,
    client: BTreeMap<String, toml::Value>,
}

impl Default for RawKafka {
    fn default() -> RawKafka {
        RawKafka {
            brokers: String::new(),
            group: "portcullis".into(),
            max_batch: 2000,
            max_pending_holds: 100_000,
            msisdn_hash_key_file: None,
            topics: RawTopics::default(),
            client: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawTopics {
    submit: String,
    released: String,
    rejected: String,
    held: String,
    dead_letter: String,
    mo: String,
    complaints: String,
    decisions: String,
}

impl Default for RawTopics {
    fn default() -> RawTopics {
        RawTopics {
            submit: "sms.submit".into(),
            released: "sms.released".into(),
            rejected: "sms.rejected".into(),
            held: "sms.held".into(),
            dead_letter: "sms.dead-letter".into(),
            mo: "sms.mo".into(),
            complaints: "sms.complaints".into(),
            decisions: "sms.decisions".into(),
        }
    }
}

/// Topic names (ARCHITECTURE.md's unless the config names others).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaTopics {
    pub submit: String,
    pub released: String,
    pub rejected: String,
    pub held: String,
    pub dead_letter: String,
    pub mo: String,
    pub complaints: String,
    pub decisions: String,
}

/// A validated Kafka edge configuration (restart to change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    pub brokers: String,
    /// The consumer group of `sms.submit`; the held and feed consumers use `GROUP.held` and
    /// `GROUP.feeds`, so each topic's partitions are shared only among consumers of that topic.
    pub group: String,
    /// Records screened together and written to the store in one batch.
    pub max_batch: usize,
    /// Held records kept in memory waiting for their hold_until; past it the held topic is paused.
    pub max_pending_holds: usize,
    /// Secret for the keyed hash of msisdns on the decisions topic; without it that topic is off.
    pub msisdn_hash_key_file: Option<PathBuf>,
    pub topics: KafkaTopics,
    /// librdkafka properties as given in `[kafka.client]`.
    pub client: Vec<(String, String)>,
}

/// Properties Portcullis sets itself: the at-least-once guarantee depends on them.
const RESERVED: &[(&str, &str)] = &[
    (
        "bootstrap.servers",
        "set it with kafka.brokers or --kafka-brokers",
    ),
    ("group.id", "set it with kafka.group or --kafka-group"),
    (
        "enable.auto.commit",
        "Portcullis commits offsets itself, only after results are acknowledged",
    ),
    (
        "enable.auto.offset.store",
        "Portcullis stores offsets itself, only after results are acknowledged",
    ),
    (
        "enable.idempotence",
        "the producer is always idempotent (at-least-once without reordering)",
    ),
    ("acks", "the idempotent producer needs acks=all"),
    (
        "transactional.id",
        "Portcullis does not use transactions; results are idempotent by message id",
    ),
];

pub(super) fn validate(
    raw: &RawKafka,
    o: &Overrides,
    base: &Path,
    errors: &mut Vec<ConfigError>,
) -> Option<Option<KafkaConfig>> {
    let key_file = raw.msisdn_hash_key_file.as_ref().map(|p| base.join(p));
    let before = errors.len();
    let brokers = o
        .kafka_brokers
        .clone()
        .unwrap_or_else(|| raw.brokers.clone());
    if brokers.trim().is_empty() {
        if o.kafka_group.is_some() {
            errors.push(ConfigError::new(
                "--kafka-group",
                "given without Kafka brokers (--kafka-brokers or kafka.brokers)",
            ));
            return None;
        }
        return Some(None);
    }
    let brokers_path = if o.kafka_brokers.is_some() {
        "--kafka-brokers"
    } else {
        "kafka.brokers"
    };
    for b in brokers.split(',') {
        let b = b.trim();
        let ok = b
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if !ok {
            errors.push(ConfigError::new(
                brokers_path,
                format!("`{b}` is not HOST:PORT"),
            ));
        }
    }
    let group = o.kafka_group.clone().unwrap_or_else(|| raw.group.clone());
    if group.trim().is_empty() {
        errors.push(ConfigError::new("kafka.group", "must not be empty"));
    }
    if !(1..=100_000).contains(&raw.max_batch) {
        errors.push(ConfigError::new("kafka.max_batch", "must be 1 to 100000"));
    }
    if !(1..=10_000_000).contains(&raw.max_pending_holds) {
        errors.push(ConfigError::new(
            "kafka.max_pending_holds",
            "must be 1 to 10000000",
        ));
    }
    if let Some(path) = &key_file {
        match std::fs::read(path) {
            Ok(key) if key.trim_ascii().len() >= 16 => {}
            Ok(_) => errors.push(ConfigError::new(
                "kafka.msisdn_hash_key_file",
                format!("{}: the key must be at least 16 bytes", path.display()),
            )),
            Err(e) => errors.push(ConfigError::new(
                "kafka.msisdn_hash_key_file",
                format!("{}: cannot read: {e}", path.display()),
            )),
        }
    }
    let t = &raw.topics;
    let topics = [
        ("submit", &t.submit),
        ("released", &t.released),
        ("rejected", &t.rejected),
        ("held", &t.held),
        ("dead_letter", &t.dead_letter),
        ("mo", &t.mo),
        ("complaints", &t.complaints),
        ("decisions", &t.decisions),
    ];
    for (key, name) in topics {
        let legal = !name.is_empty()
            && name.len() <= 249
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !legal {
            errors.push(ConfigError::new(
                format!("kafka.topics.{key}"),
                format!("`{name}` is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)"),
            ));
        }
    }
    let mut client = Vec::with_capacity(raw.client.len());
    for (key, value) in &raw.client {
        let path = format!("kafka.client.\"{key}\"");
        if let Some((_, why)) = RESERVED.iter().find(|(k, _)| k == key) {
            errors.push(ConfigError::new(path, format!("reserved: {why}")));
            continue;
        }
        let value = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            _ => {
                errors.push(ConfigError::new(
                    path,
                    "must be a string, number or boolean",
                ));
                continue;
            }
        };
        // librdkafka knows its properties: ask it, so a typo fails at start, not in production.
        let mut one = rdkafka::ClientConfig::new();
        one.set(key, &value);
        if let Err(e) = one.create_native_config() {
            errors.push(ConfigError::new(path, e.to_string()));
            continue;
        }
        client.push((key.clone(), value));
    }
    if errors.len() != before {
        return None;
    }
    Some(Some(KafkaConfig {
        brokers,
        group,
        max_batch: raw.max_batch,
        max_pending_holds: raw.max_pending_holds,
        msisdn_hash_key_file: key_file,
        topics: KafkaTopics {
            submit: t.submit.clone(),
            released: t.released.clone(),
            rejected: t.rejected.clone(),
            held: t.held.clone(),
            dead_letter: t.dead_letter.clone(),
            mo: t.mo.clone(),
            complaints: t.complaints.clone(),
            decisions: t.decisions.clone(),
        },
        client,
    }))
}
