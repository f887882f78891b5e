//! Configuration: one TOML file (optional: embedded defaults run the daemon with none), the files it
//! names (senders, rules and keyword lists) and command-line overrides. `load` reports every problem
//! at once, each with its key path, so `check-config` and `serve` print the same list (STYLE.md §3).

pub mod access;
mod kafka;
pub mod reload;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::domain::{Category, CategorySet};
use crate::pipeline::classify::fingerprint::FingerprintSettings;
use crate::pipeline::classify::model::{ContentModel, ModelError, ModelSettings, ServingModel};
use crate::pipeline::classify::rules::{RuleError, RuleSet};
use crate::pipeline::normalize::Normalizer;
use crate::pipeline::policy::{DailyWindow, PolicyConfig};
use crate::pipeline::screen::Snapshot;
use crate::pipeline::verdict::{self, REASON_SLOTS};
use crate::proto::ReasonCode;
use crate::region::RegionTable;
use crate::registry::senders::{SenderRegistry, SendersFile};
use crate::store::StoreOptions;
use crate::throttle::{ThrottleConfig, ThrottlesFile};
use access::AccessConfig;

pub use kafka::{KafkaConfig, KafkaTopics};

/// The default main file, compiled in.
pub const EMBEDDED_CONFIG: &str = include_str!("../../config/portcullis.toml");
/// The demo sender registry, compiled in (used when no senders file is named on disk).
pub const EMBEDDED_SENDERS: &str = include_str!("../../config/senders.toml");
/// The default regional throttle policy, compiled in.
pub const EMBEDDED_THROTTLES: &str = include_str!("../../config/throttles.toml");

/// One problem with the configuration: where (`path`, a key path or file) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ConfigError {
        ConfigError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl From<RuleError> for ConfigError {
    fn from(e: RuleError) -> ConfigError {
        ConfigError {
            path: e.path,
            message: e.message,
        }
    }
}

/// Command-line flags that override the file (API.md `serve` flags).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub grpc_addr: Option<String>,
    pub metrics_addr: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub senders: Option<PathBuf>,
    pub kafka_brokers: Option<String>,
    pub kafka_group: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    server: RawServer,
    files: RawFiles,
    policy: RawPolicy,
    idempotency: RawIdempotency,
    concat: RawConcat,
    retention: RawRetention,
    store: RawStore,
    audit: RawAudit,
    log: RawLog,
    model: RawModel,
    fingerprint: RawFingerprint,
    kafka: kafka::RawKafka,
    clients: Vec<access::RawClient>,
    limits: access::RawLimits,
    tls: Option<access::RawTls>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawModel {
    enabled: bool,
    monitor: bool,
    fraud_threshold: f32,
    illegal_threshold: f32,
    category_weight: f32,
    code_rule_discount: f32,
    signed_fraud_needs_contact: bool,
}

impl Default for RawModel {
    fn default() -> RawModel {
        let d = ModelSettings::default();
        RawModel {
            enabled: true,
            monitor: d.monitor,
            fraud_threshold: d.fraud_threshold,
            illegal_threshold: d.illegal_threshold,
            category_weight: d.category_weight,
            code_rule_discount: d.code_rule_discount,
            signed_fraud_needs_contact: d.signed_fraud_needs_contact,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawFingerprint {
    max_distance: u32,
    min_complaints: u32,
    spam: f64,
    window_days: u32,
}

impl Default for RawFingerprint {
    fn default() -> RawFingerprint {
        let d = FingerprintSettings::default();
        RawFingerprint {
            max_distance: d.max_distance,
            min_complaints: d.min_complaints,
            spam: d.spam,
            window_days: d.window_days,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawAudit {
    decisions: String,
}

impl Default for RawAudit {
    fn default() -> RawAudit {
        RawAudit {
            decisions: "required".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawStore {
    max_size_mb: u64,
    write_queue: usize,
}

impl Default for RawStore {
    fn default() -> RawStore {
        RawStore {
            max_size_mb: 0,
            write_queue: crate::store::DEFAULT_WRITE_QUEUE,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawServer {
    grpc_addr: String,
    metrics_addr: String,
    health_addr: String,
    data_dir: PathBuf,
    grace_period_secs: u64,
    stream_buffer: usize,
    max_text_chars: usize,
}

impl Default for RawServer {
    fn default() -> RawServer {
        RawServer {
            grpc_addr: "127.0.0.1:50051".into(),
            metrics_addr: "127.0.0.1:9464".into(),
            health_addr: String::new(),
            data_dir: PathBuf::from("./data"),
            grace_period_secs: 10,
            stream_buffer: 256,
            max_text_chars: 2000,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawFiles {
    senders: Option<PathBuf>,
    rules: Option<PathBuf>,
    throttles: Option<PathBuf>,
    model: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawPolicy {
    monitor: bool,
    monitor_reasons: Vec<String>,
    commercial: Vec<String>,
    consent_required: Vec<String>,
    timezone: String,
    marketing_window: String,
    collection_window: String,
    frequency_cap_per_day: u32,
    duplicate_window_hours: u32,
    spam_reject_score: f64,
    smpp_status: std::collections::BTreeMap<String, u32>,
}

impl Default for RawPolicy {
    fn default() -> RawPolicy {
        RawPolicy {
            monitor: false,
            monitor_reasons: Vec::new(),
            commercial: vec!["MARKETING".into(), "LOAN_MARKETING".into()],
            consent_required: vec!["MARKETING".into(), "LOAN_MARKETING".into()],
            timezone: "Asia/Shanghai".into(),
            marketing_window: "08:00-21:00".into(),
            collection_window: "08:00-22:00".into(),
            frequency_cap_per_day: 3,
            duplicate_window_hours: 24,
            spam_reject_score: 0.8,
            smpp_status: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawIdempotency {
    ttl_hours: u32,
}

impl Default for RawIdempotency {
    fn default() -> RawIdempotency {
        RawIdempotency { ttl_hours: 24 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConcat {
    timeout_secs: u32,
    max_pending_parts: usize,
}

impl Default for RawConcat {
    fn default() -> RawConcat {
        RawConcat {
            timeout_secs: 60,
            max_pending_parts: crate::reassembly::DEFAULT_MAX_PENDING_PARTS,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawRetention {
    consent_months: u32,
    max_months: u32,
    purge_interval_secs: u64,
}

impl Default for RawRetention {
    fn default() -> RawRetention {
        RawRetention {
            consent_months: 6,
            max_months: 24,
            purge_interval_secs: 3600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLog {
    format: String,
}

impl Default for RawLog {
    fn default() -> RawLog {
        RawLog {
            format: "text".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// What needs a restart to change: reloads that try are refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    pub grpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    /// A plaintext listener serving only grpc.health.v1, for probes that cannot speak TLS (the
    /// kubelet's gRPC probe); `None`: health is on the API listener only.
    pub health_addr: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub grace_period: Duration,
    pub stream_buffer: usize,
    pub log_format: LogFormat,
    pub concat_timeout_secs: u32,
    /// Cap on long-SMS parts held in memory; past it the oldest message is given up.
    pub concat_max_pending_parts: usize,
    pub retention_consent_months: u32,
    pub retention_max_months: u32,
    /// How often retention runs (expiries recorded, records purged).
    pub purge_interval: Duration,
    pub store: StoreOptions,
    /// The Kafka edge; `None` when no brokers are configured (gRPC only).
    pub kafka: Option<KafkaConfig>,
    /// Clients, roles, limits and TLS of the gRPC API.
    pub access: AccessConfig,
}

/// Where the configuration came from, so a reload reads the same places.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    pub config_path: Option<PathBuf>,
    pub overrides: Overrides,
}

impl ConfigSource {
    /// Files on disk a reload should watch.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = Vec::new();
        files.extend(self.config_path.clone());
        files.extend(self.overrides.senders.clone());
        if let Some(path) = &self.config_path
            && let Ok(text) = std::fs::read_to_string(path)
            && let Ok(raw) = toml::from_str::<RawConfig>(&text)
        {
            let base = path.parent().unwrap_or(Path::new("."));
            if self.overrides.senders.is_none() {
                files.extend(raw.files.senders.map(|p| base.join(p)));
            }
            files.extend(raw.files.throttles.map(|p| base.join(p)));
            files.extend(raw.files.model.map(|p| base.join(p)));
            if let Some(tls) = &raw.tls {
                files.extend(tls.files().map(|p| base.join(p)));
            }
            if let Some(rules) = raw.files.rules.map(|p| base.join(p)) {
                if let Some(dir) = rules.parent() {
                    files.push(dir.join("keywords"));
                }
                files.push(rules);
            }
        }
        files
    }
}

/// A loaded, validated configuration.
pub struct Config {
    pub source: ConfigSource,
    pub server: ServerConfig,
    pub snapshot: Snapshot,
    /// Regional throttle policy (reloadable; live state is `throttle::region::RegionThrottle`).
    pub throttles: ThrottleConfig,
}

/// Loads and validates everything; every error found is returned.
pub fn load(source: &ConfigSource, regions: &Arc<RegionTable>) -> Result<Config, Vec<ConfigError>> {
    let mut errors = Vec::new();
    let (text, origin) = match &source.config_path {
        Some(path) => match std::fs::read_to_string(path) {
            Ok(t) => (t, path.display().to_string()),
            Err(e) => {
                return Err(vec![ConfigError::new(
                    path.display().to_string(),
                    format!("cannot read: {e}"),
                )]);
            }
        },
        None => (
            EMBEDDED_CONFIG.to_owned(),
            "<embedded portcullis.toml>".to_owned(),
        ),
    };
    let base = source
        .config_path
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let MainFile {
        raw,
        server,
        policy,
    } = parse_main(&text, origin, &source.overrides, base, &mut errors)?;
    let normalizer = Normalizer::default();

    let senders = load_senders(source, &raw, base, &normalizer, &mut errors);
    let rules = match (&source.config_path, &raw.files.rules) {
        (Some(_), Some(rel)) => RuleSet::load(&base.join(rel))
            .map_err(|errs| errors.extend(errs.into_iter().map(ConfigError::from)))
            .ok(),
        _ => Some(RuleSet::embedded()),
    };

    let throttles = load_throttles(source, &raw, base, regions, &mut errors);
    let model = load_model(source, &raw, base, &mut errors);
    match (server, policy, senders, rules, throttles, model) {
        (Some(server), Some(policy), Some(senders), Some(rules), Some(throttles), Some(model))
            if errors.is_empty() =>
        {
            let model = model.map(|m| {
                let settings = ModelSettings {
                    spam_threshold: policy.spam_reject_score as f32,
                    ..model_settings(&raw.model)
                };
                ServingModel::new(m, settings, &rules)
            });
            Ok(Config {
                source: source.clone(),
                server,
                throttles,
                snapshot: Snapshot {
                    generation: 0,
                    policy,
                    senders,
                    rules,
                    normalizer,
                    regions: Arc::clone(regions),
                    model,
                },
            })
        }
        _ => Err(errors),
    }
}

/// The main file parsed, with its own sections checked; `None` for a section with an error.
struct MainFile {
    raw: RawConfig,
    server: Option<ServerConfig>,
    policy: Option<PolicyConfig>,
}

/// Parses the main file's text and checks its own keys. Errors go to `errors`; a TOML syntax or
/// unknown-key error is returned alone, since nothing else can be read past it.
fn parse_main(
    text: &str,
    origin: String,
    overrides: &Overrides,
    base: &Path,
    errors: &mut Vec<ConfigError>,
) -> Result<MainFile, Vec<ConfigError>> {
    let raw: RawConfig = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => return Err(vec![ConfigError::new(origin, toml_error(&e))]),
    };
    let kafka = kafka::validate(&raw.kafka, overrides, base, errors);
    let access = access::validate(&raw.clients, &raw.limits, raw.tls.as_ref(), base, errors);
    let server = validate_server(&raw, overrides, access, errors)
        .zip(kafka)
        .map(|(mut server, kafka)| {
            server.kafka = kafka;
            server
        });
    if let Some(server) = &server {
        access::check_open_only_on_loopback(&server.access, server.grpc_addr, errors);
    }
    let policy = validate_policy(&raw, errors);
    Ok(MainFile {
        raw,
        server,
        policy,
    })
}

/// Checks the text of a main config file on its own: TOML syntax, unknown keys, and every value of
/// its own sections ([server], [policy], [kafka], [retention], ...), with the same errors `load`
/// reports. The files it names (senders, rules, throttles, model) are not read; the files read are
/// `kafka.msisdn_hash_key_file` and the `[tls]` certificate and key, relative to `base`. Public so the fuzz target
/// (fuzz/fuzz_targets/fuzz_config.rs) can drive the parser without the cost of loading rules and
/// the model on every input.
pub fn check_main_text(
    text: &str,
    overrides: &Overrides,
    base: &Path,
) -> Result<(ServerConfig, PolicyConfig), Vec<ConfigError>> {
    let mut errors = Vec::new();
    let main = parse_main(text, "<config>".to_owned(), overrides, base, &mut errors)?;
    // `load` checks [model] in load_model, just before it loads the model.
    validate_model(&main.raw.model, &mut errors);
    match (main.server, main.policy) {
        (Some(server), Some(policy)) if errors.is_empty() => Ok((server, policy)),
        _ => Err(errors),
    }
}

/// The model shipped in the binary: what `serve` without --config, or a config naming no model, uses.
const EMBEDDED_MODEL: &[u8] = include_bytes!("../../config/models/default.pcm");

/// `Some(None)`: no model (`[model] enabled = false`); `None`: an error was recorded.
fn load_model(
    source: &ConfigSource,
    raw: &RawConfig,
    base: &Path,
    errors: &mut Vec<ConfigError>,
) -> Option<Option<Arc<ContentModel>>> {
    let m = &raw.model;
    if !validate_model(m, errors) {
        return None;
    }
    if !m.enabled {
        return Some(None);
    }
    let loaded = match (&source.config_path, &raw.files.model) {
        (Some(_), Some(rel)) => ContentModel::load(&base.join(rel)),
        _ => ContentModel::from_bytes(EMBEDDED_MODEL)
            .map_err(|e| ModelError::new("<embedded config/models/default.pcm>", e)),
    };
    match loaded {
        Ok(model) => Some(Some(Arc::new(model))),
        Err(e) => {
            errors.push(ConfigError::new("files.model", e.to_string()));
            None
        }
    }
}

/// The `[model]` values; false when one is wrong (recorded in `errors`).
fn validate_model(m: &RawModel, errors: &mut Vec<ConfigError>) -> bool {
    let before = errors.len();
    for (key, v) in [
        ("fraud_threshold", m.fraud_threshold),
        ("illegal_threshold", m.illegal_threshold),
    ] {
        if !(v > 0.0 && v <= 1.0) {
            errors.push(ConfigError::new(
                format!("model.{key}"),
                format!("{v} is not in (0, 1]"),
            ));
        }
    }
    if !(0.0..=1.0).contains(&m.code_rule_discount) {
        errors.push(ConfigError::new(
            "model.code_rule_discount",
            format!("{} is not in [0, 1]", m.code_rule_discount),
        ));
    }
    if !(m.category_weight >= 0.0 && m.category_weight.is_finite()) {
        errors.push(ConfigError::new(
            "model.category_weight",
            format!("{} is not a finite number >= 0", m.category_weight),
        ));
    }
    errors.len() == before
}

fn model_settings(m: &RawModel) -> ModelSettings {
    ModelSettings {
        monitor: m.monitor,
        fraud_threshold: m.fraud_threshold,
        illegal_threshold: m.illegal_threshold,
        category_weight: m.category_weight,
        code_rule_discount: m.code_rule_discount,
        signed_fraud_needs_contact: m.signed_fraud_needs_contact,
        ..ModelSettings::default()
    }
}

fn toml_error(e: &toml::de::Error) -> String {
    let msg = e.message().trim_end_matches('.').to_owned();
    match e.span() {
        Some(span) => format!("{msg} (at byte {})", span.start),
        None => msg,
    }
}

fn load_senders(
    source: &ConfigSource,
    raw: &RawConfig,
    base: &Path,
    normalizer: &Normalizer,
    errors: &mut Vec<ConfigError>,
) -> Option<SenderRegistry> {
    let path = match (
        &source.overrides.senders,
        &source.config_path,
        &raw.files.senders,
    ) {
        (Some(p), _, _) => Some(p.clone()),
        (None, Some(_), Some(rel)) => Some(base.join(rel)),
        _ => None,
    };
    let (text, origin) = match &path {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(t) => (t, p.display().to_string()),
            Err(e) => {
                errors.push(ConfigError::new(
                    p.display().to_string(),
                    format!("cannot read: {e}"),
                ));
                return None;
            }
        },
        None => (
            EMBEDDED_SENDERS.to_owned(),
            "<embedded senders.toml>".to_owned(),
        ),
    };
    let file: SendersFile = match toml::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            errors.push(ConfigError::new(origin, toml_error(&e)));
            return None;
        }
    };
    SenderRegistry::build(&file, &origin, normalizer)
        .map_err(|errs| errors.extend(errs))
        .ok()
}

fn load_throttles(
    source: &ConfigSource,
    raw: &RawConfig,
    base: &Path,
    regions: &RegionTable,
    errors: &mut Vec<ConfigError>,
) -> Option<ThrottleConfig> {
    let (text, origin) = match (&source.config_path, &raw.files.throttles) {
        (Some(_), Some(rel)) => {
            let path = base.join(rel);
            match std::fs::read_to_string(&path) {
                Ok(t) => (t, path.display().to_string()),
                Err(e) => {
                    errors.push(ConfigError::new(
                        path.display().to_string(),
                        format!("cannot read: {e}"),
                    ));
                    return None;
                }
            }
        }
        _ => (
            EMBEDDED_THROTTLES.to_owned(),
            "<embedded throttles.toml>".to_owned(),
        ),
    };
    let file: ThrottlesFile = match toml::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            errors.push(ConfigError::new(origin, toml_error(&e)));
            return None;
        }
    };
    ThrottleConfig::build(&file, &origin, |p| regions.has_province(p))
        .map_err(|errs| errors.extend(errs))
        .ok()
}

fn validate_server(
    raw: &RawConfig,
    o: &Overrides,
    access: Option<AccessConfig>,
    errors: &mut Vec<ConfigError>,
) -> Option<ServerConfig> {
    let before = errors.len();
    let mut addr = |key: &str, flag: &str, value: &str, over: &Option<String>| {
        let (path, v) = match over {
            Some(v) => (flag.to_owned(), v.as_str()),
            None => (format!("server.{key}"), value),
        };
        v.parse::<SocketAddr>()
            .map_err(|_| {
                errors.push(ConfigError::new(
                    path,
                    format!("`{v}` is not a HOST:PORT socket address"),
                ))
            })
            .ok()
    };
    let grpc_addr = addr(
        "grpc_addr",
        "--grpc-addr",
        &raw.server.grpc_addr,
        &o.grpc_addr,
    );
    let metrics_addr = addr(
        "metrics_addr",
        "--metrics-addr",
        &raw.server.metrics_addr,
        &o.metrics_addr,
    );
    let s = &raw.server;
    let health_addr = match s.health_addr.trim() {
        "" => None,
        text => match text.parse::<SocketAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                errors.push(ConfigError::new(
                    "server.health_addr",
                    format!("`{text}` is not a HOST:PORT socket address"),
                ));
                None
            }
        },
    };
    if !(1..=300).contains(&s.grace_period_secs) {
        errors.push(ConfigError::new(
            "server.grace_period_secs",
            "must be 1 to 300",
        ));
    }
    if !(1..=65_536).contains(&s.stream_buffer) {
        errors.push(ConfigError::new(
            "server.stream_buffer",
            "must be 1 to 65536",
        ));
    }
    if !(1..=2000).contains(&s.max_text_chars) {
        errors.push(ConfigError::new(
            "server.max_text_chars",
            "must be 1 to 2000 (API.md)",
        ));
    }
    if grpc_addr.is_some() && grpc_addr == metrics_addr && grpc_addr.is_some_and(|a| a.port() != 0)
    {
        errors.push(ConfigError::new(
            "server.metrics_addr",
            "must differ from server.grpc_addr",
        ));
    }
    let log_format = match raw.log.format.as_str() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => {
            errors.push(ConfigError::new(
                "log.format",
                format!("`{other}` is not text or json"),
            ));
            LogFormat::Text
        }
    };
    if !(1..=3600).contains(&raw.concat.timeout_secs) {
        errors.push(ConfigError::new("concat.timeout_secs", "must be 1 to 3600"));
    }
    if !(16..=10_000_000).contains(&raw.concat.max_pending_parts) {
        errors.push(ConfigError::new(
            "concat.max_pending_parts",
            "must be 16 (one whole message) to 10000000",
        ));
    }
    let r = &raw.retention;
    if r.consent_months < 5 {
        errors.push(ConfigError::new(
            "retention.consent_months",
            format!(
                "{} is below the legal floor of 5 months (RULES.md)",
                r.consent_months
            ),
        ));
    }
    if r.max_months < r.consent_months {
        errors.push(ConfigError::new(
            "retention.max_months",
            format!(
                "{} is below retention.consent_months ({})",
                r.max_months, r.consent_months
            ),
        ));
    }
    if !(1..=1_000_000).contains(&raw.store.write_queue) {
        errors.push(ConfigError::new(
            "store.write_queue",
            "must be 1 to 1000000",
        ));
    }
    if !(60..=86_400).contains(&r.purge_interval_secs) {
        errors.push(ConfigError::new(
            "retention.purge_interval_secs",
            "must be 60 to 86400",
        ));
    }
    if errors.len() != before {
        return None;
    }
    Some(ServerConfig {
        grpc_addr: grpc_addr?,
        metrics_addr: metrics_addr?,
        health_addr,
        data_dir: o.data_dir.clone().unwrap_or_else(|| s.data_dir.clone()),
        grace_period: Duration::from_secs(s.grace_period_secs),
        stream_buffer: s.stream_buffer,
        log_format,
        concat_timeout_secs: raw.concat.timeout_secs,
        concat_max_pending_parts: raw.concat.max_pending_parts,
        retention_consent_months: r.consent_months,
        retention_max_months: r.max_months,
        purge_interval: Duration::from_secs(r.purge_interval_secs),
        store: StoreOptions {
            max_size_mb: raw.store.max_size_mb,
            write_queue: raw.store.write_queue,
        },
        kafka: None,
        access: access?,
    })
}

fn validate_policy(raw: &RawConfig, errors: &mut Vec<ConfigError>) -> Option<PolicyConfig> {
    let before = errors.len();
    let p = &raw.policy;
    let mut categories = |key: &str, names: &[String]| {
        let mut set = CategorySet::EMPTY;
        for (i, name) in names.iter().enumerate() {
            match Category::parse(name) {
                Some(c) => set.insert(c),
                None => errors.push(ConfigError::new(
                    format!("policy.{key}[{i}]"),
                    format!("unknown category `{name}`"),
                )),
            }
        }
        set
    };
    let commercial = categories("commercial", &p.commercial);
    let consent_required = categories("consent_required", &p.consent_required);

    let mut monitored = [false; REASON_SLOTS];
    for (i, name) in p.monitor_reasons.iter().enumerate() {
        match verdict::parse_reason(name) {
            Some(code) => monitored[code as usize] = true,
            None => errors.push(ConfigError::new(
                format!("policy.monitor_reasons[{i}]"),
                format!("unknown reason `{name}`"),
            )),
        }
    }
    let timezone = jiff::tz::TimeZone::get(&p.timezone)
        .map_err(|_| {
            errors.push(ConfigError::new(
                "policy.timezone",
                format!("unknown time zone `{}`", p.timezone),
            ))
        })
        .ok();
    let marketing_window = parse_window(&p.marketing_window, "policy.marketing_window", errors);
    let collection_window = parse_window(&p.collection_window, "policy.collection_window", errors);
    if p.duplicate_window_hours > 24 * 31 {
        errors.push(ConfigError::new(
            "policy.duplicate_window_hours",
            "must be at most 744 (31 days)",
        ));
    }
    if !(p.spam_reject_score > 0.0 && p.spam_reject_score <= 1.0) {
        errors.push(ConfigError::new(
            "policy.spam_reject_score",
            "must be in (0, 1]",
        ));
    }
    let mut smpp_status = verdict::default_smpp_status();
    let mut smpp_status_bad_msisdn = 0x0B;
    for (name, value) in &p.smpp_status {
        if name.eq_ignore_ascii_case("MALFORMED_MSISDN") {
            smpp_status_bad_msisdn = *value;
            continue;
        }
        match verdict::parse_reason(name) {
            Some(code) => smpp_status[code as usize] = *value,
            None => errors.push(ConfigError::new(
                format!("policy.smpp_status.{name}"),
                "unknown reason",
            )),
        }
    }
    let audit_all_decisions = match raw.audit.decisions.as_str() {
        "required" => false,
        "all" => true,
        other => {
            errors.push(ConfigError::new(
                "audit.decisions",
                format!("`{other}` is not required or all"),
            ));
            false
        }
    };
    if !(1..=720).contains(&raw.idempotency.ttl_hours) {
        errors.push(ConfigError::new(
            "idempotency.ttl_hours",
            "must be 1 to 720",
        ));
    }
    let f = &raw.fingerprint;
    if f.max_distance > 48 {
        errors.push(ConfigError::new(
            "fingerprint.max_distance",
            format!(
                "{} bits of 128 would join unrelated texts (at most 48)",
                f.max_distance
            ),
        ));
    }
    if f.min_complaints == 0 {
        errors.push(ConfigError::new(
            "fingerprint.min_complaints",
            "must be at least 1",
        ));
    }
    if !f.spam.is_finite() {
        errors.push(ConfigError::new(
            "fingerprint.spam",
            "must be a finite number",
        ));
    }
    if errors.len() != before {
        return None;
    }
    Some(PolicyConfig {
        monitor_all: p.monitor,
        monitored,
        commercial,
        consent_required,
        marketing_window: marketing_window?,
        collection_window: collection_window?,
        timezone: timezone?,
        frequency_cap_per_day: p.frequency_cap_per_day,
        duplicate_window_secs: i64::from(p.duplicate_window_hours) * 3600,
        spam_reject_score: p.spam_reject_score,
        fingerprint: FingerprintSettings {
            max_distance: raw.fingerprint.max_distance,
            min_complaints: raw.fingerprint.min_complaints,
            spam: raw.fingerprint.spam,
            window_days: raw.fingerprint.window_days,
        },
        idempotency_ttl_secs: i64::from(raw.idempotency.ttl_hours) * 3600,
        smpp_status,
        smpp_status_bad_msisdn,
        max_text_chars: raw.server.max_text_chars,
        audit_all_decisions,
    })
}

/// "HH:MM-HH:MM", start before end, within one day.
fn parse_window(text: &str, path: &str, errors: &mut Vec<ConfigError>) -> Option<DailyWindow> {
    let minute = |hm: &str| -> Option<u16> {
        let (h, m) = hm.trim().split_once(':')?;
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h <= 24 && m < 60 && h * 60 + m <= 1440).then_some(h * 60 + m)
    };
    let parsed = text
        .split_once('-')
        .and_then(|(a, b)| Some((minute(a)?, minute(b)?)));
    match parsed {
        Some((start, end)) if start < end => Some(DailyWindow {
            start_minute: start,
            end_minute: end,
        }),
        _ => {
            errors.push(ConfigError::new(
                path,
                format!("`{text}` is not a window HH:MM-HH:MM with start before end"),
            ));
            None
        }
    }
}

/// Which fields differ between two server configs (a reload may not change them).
pub fn restart_only_changes(old: &ServerConfig, new: &ServerConfig) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if old.grpc_addr != new.grpc_addr {
        changed.push("server.grpc_addr");
    }
    if old.metrics_addr != new.metrics_addr {
        changed.push("server.metrics_addr");
    }
    if old.health_addr != new.health_addr {
        changed.push("server.health_addr");
    }
    if old.data_dir != new.data_dir {
        changed.push("server.data_dir");
    }
    if old.store != new.store {
        changed.push("store");
    }
    if old.log_format != new.log_format {
        changed.push("log.format");
    }
    if old.access.tls.is_some() != new.access.tls.is_some() {
        changed.push("tls");
    }
    let (a, b) = (&old.access.limits, &new.access.limits);
    if a.max_request_bytes != b.max_request_bytes {
        changed.push("limits.max_request_bytes");
    }
    if a.max_concurrent_streams != b.max_concurrent_streams {
        changed.push("limits.max_concurrent_streams");
    }
    if a.tls_handshake_timeout != b.tls_handshake_timeout {
        changed.push("limits.tls_handshake_timeout_secs");
    }
    changed
}

/// The SMPP status for a refused msisdn and the policy's MALFORMED status otherwise.
pub fn malformed_smpp_status(policy: &PolicyConfig, field_is_msisdn: bool) -> u32 {
    if field_is_msisdn {
        policy.smpp_status_bad_msisdn
    } else {
        policy.smpp_status[ReasonCode::ReasonMalformed as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions() -> Arc<RegionTable> {
        Arc::new(
            RegionTable::from_csv_reader("prefix,province,city,zip,areacode,carrier\n".as_bytes())
                .unwrap(),
        )
    }

    fn load_text(text: &str) -> Result<Config, Vec<ConfigError>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("portcullis.toml");
        std::fs::write(&path, text).unwrap();
        load(
            &ConfigSource {
                config_path: Some(path),
                overrides: Overrides::default(),
            },
            &regions(),
        )
    }

    #[test]
    fn embedded_defaults_are_valid() {
        let config = load(&ConfigSource::default(), &regions())
            .map_err(|e| format!("{e:?}"))
            .unwrap();
        assert_eq!(config.server.grpc_addr.to_string(), "127.0.0.1:50051");
        assert_eq!(config.snapshot.policy.frequency_cap_per_day, 3);
        assert!(config.snapshot.senders.len() >= 5);
    }

    #[test]
    fn access_control_is_checked_and_open_only_on_loopback() {
        let errors = load_text("[server]\ngrpc_addr = \"0.0.0.0:50051\"\n")
            .err()
            .unwrap();
        assert!(
            errors
                .iter()
                .any(|e| e.path == "clients" && e.message.contains("loopback")),
            "{errors:?}"
        );
        let errors = load_text(
            "[tls]\ncert = \"missing.crt\"\nkey = \"missing.key\"\n\n\
             [[clients]]\nname = \"gw\"\ntoken_sha256 = \"pc_plaintext_token\"\nroles = [\"gateway\", \"root\"]\n\n\
             [[clients]]\nname = \"gw\"\ntoken_sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\nroles = []\n",
        )
        .err()
        .unwrap();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        for expected in [
            "tls.cert",
            "clients[0].token_sha256",
            "clients[0].roles",
            "clients[1].name",
            "clients[1].roles",
        ] {
            assert!(
                paths.contains(&expected),
                "{expected} missing from {paths:?}"
            );
        }
        let config = load_text(
            "[server]\ngrpc_addr = \"0.0.0.0:50051\"\n\n[[clients]]\nname = \"gw\"\n\
             token_sha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\nroles = [\"gateway\"]\n",
        )
        .map_err(|e| format!("{e:?}"))
        .unwrap();
        assert_eq!(config.server.access.clients.len(), 1);
        assert_eq!(config.server.access.clients[0].rate_per_sec, 100_000);
    }

    #[test]
    fn every_error_is_reported_with_its_path() {
        let errors = load_text(
            "[server]\ngrpc_addr = \"nowhere\"\n[policy]\nmarketing_window = \"21:00-08:00\"\nmonitor_reasons = [\"NOPE\"]\n\
             [retention]\nconsent_months = 4\n",
        )
        .err()
        .unwrap();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        for expected in [
            "server.grpc_addr",
            "policy.marketing_window",
            "policy.monitor_reasons[0]",
            "retention.consent_months",
        ] {
            assert!(
                paths.contains(&expected),
                "{expected} missing from {paths:?}"
            );
        }
    }

    #[test]
    fn main_text_is_checked_without_the_files_it_names() {
        let dir = tempfile::tempdir().unwrap();
        let (server, policy) =
            check_main_text(EMBEDDED_CONFIG, &Overrides::default(), dir.path()).unwrap();
        assert_eq!(server.grpc_addr.to_string(), "127.0.0.1:50051");
        assert_eq!(policy.frequency_cap_per_day, 3);
        // The senders file is absent from `dir`, and not read.
        let ok = "[files]\nsenders = \"absent.toml\"\n";
        assert!(check_main_text(ok, &Overrides::default(), dir.path()).is_ok());
        let errors = check_main_text(
            "[model]\nfraud_threshold = 2.0\ncode_rule_discount = 1.5\n[server]\nstream_buffer = 0\n",
            &Overrides::default(),
            dir.path(),
        )
        .unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "server.stream_buffer",
                "model.fraud_threshold",
                "model.code_rule_discount"
            ]
        );
        let errors = check_main_text("[server", &Overrides::default(), dir.path()).unwrap_err();
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let errors = load_text("[policy]\nfrequency_cap = 3\n").err().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.contains("frequency_cap"), "{}", errors[0]);
    }

    #[test]
    fn missing_files_are_named() {
        let errors =
            load_text("[files]\nsenders = \"absent.toml\"\nrules = \"absent-rules.toml\"\n")
                .err()
                .unwrap();
        assert!(
            errors.iter().any(|e| e.path.ends_with("absent.toml")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.path.contains("absent-rules.toml")
                    || e.message.contains("absent-rules.toml")),
            "{errors:?}"
        );
    }
}
