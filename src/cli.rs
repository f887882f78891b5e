//! The command line of API.md ("Command line and files"): `serve`, `check-config` and the operator
//! commands `audit`, `backup`, `consent`, `decisions`, `optout` and `throttle`, and the model's `train` and `eval`. Flags are a contract: scripts
//! and operators depend on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{ConfigSource, Overrides};
use crate::store::audit::Head;

/// Where `--target` commands connect when no `--target` is given (API.md).
pub const DEFAULT_TARGET: &str = "127.0.0.1:50051";

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Carrier-side streaming spam filter for port-type (A2P) SMS"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// `--target` commands: the client token, sent as a bearer token (or env PORTCULLIS_TOKEN).
    #[arg(long, global = true, env = "PORTCULLIS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// `--target` commands: PEM CA certificate of the daemon's TLS certificate (connects with TLS).
    #[arg(long, global = true, value_name = "FILE")]
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (embedded defaults when no --config is given).
    Serve(ServeArgs),
    /// Validate a configuration: every error at once; exit 0 valid, 78 invalid.
    CheckConfig(CheckConfigArgs),
    /// Train the content model on labeled TSV files (label, text) and write it to --out.
    Train(TrainArgs),
    /// Score a model on a labeled file, in that file's own label space.
    Eval(EvalArgs),
    /// Client tokens for `[[clients]]`.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Load a running daemon through gRPC like a gateway; the last line is a JSON summary.
    Loadgen(LoadgenArgs),
    #[command(flatten)]
    Admin(AdminCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LoadgenMode {
    Unary,
    Stream,
}

#[derive(Debug, Args)]
pub struct LoadgenArgs {
    /// The daemon's gRPC address.
    #[arg(long, value_name = "HOST:PORT")]
    pub target: String,
    #[arg(long, value_enum)]
    pub mode: LoadgenMode,
    /// Messages in all.
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,
    /// Concurrent calls (unary) or streams (stream).
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Messages per second in all (open loop); closed loop when absent.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Texts from a labeled TSV's `text` column; a built-in port-traffic mix otherwise.
    #[arg(long, value_name = "FILE.tsv")]
    pub data: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new random token (give it to the client) and the `[[clients]]` entry holding only
    /// its SHA-256 (paste it into the config).
    New(TokenNewArgs),
}

#[derive(Debug, Args)]
pub struct TokenNewArgs {
    /// The client's name in logs, metrics and the compliance audit.
    #[arg(long)]
    pub name: String,
    /// gateway, registry, compliance or operator; repeat for several.
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
}

/// The operator commands (`crate::admin`): exit 0 clean, 1 a finding (a broken chain, rejected
/// opt-out lines), 2 a usage, I/O or RPC error.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// The tamper-evident audit chain: verify it or print its head.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Consistent online copy of the store (safe while the daemon runs).
    Backup(BackupArgs),
    /// A subscriber's or an enterprise's consent history, from the audit chain.
    #[command(subcommand)]
    Consent(ConsentCommand),
    /// The audited screening decisions: what was sent to (or refused for) a subscriber.
    #[command(subcommand)]
    Decisions(DecisionsCommand),
    /// Bulk opt-outs.
    #[command(subcommand, name = "optout")]
    Optout(OptoutCommand),
    /// Regional complaint-rate throttles: see them, block or lift a province by hand.
    #[command(subcommand)]
    Throttle(ThrottleCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Re-walk the chain: exit 0 intact, 1 broken, 2 usage or I/O error.
    Verify(AuditVerifyArgs),
    /// Print the chain head as SEQ:HASH (pin it somewhere else).
    Head(AuditHeadArgs),
}

/// Exactly one of a stopped daemon's data dir or a running daemon's gRPC address.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct AuditSource {
    /// A stopped daemon's data dir, opened read-only.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A running daemon's gRPC address (Compliance.VerifyAudit).
    #[arg(long, value_name = "HOST:PORT")]
    pub target: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditVerifyArgs {
    #[command(flatten)]
    pub source: AuditSource,
    /// A head pinned earlier (`audit head`); a chain that no longer contains it is broken.
    #[arg(long, value_name = "SEQ:HASH", value_parser = parse_head)]
    pub expect_head: Option<Head>,
}

#[derive(Debug, Args)]
pub struct AuditHeadArgs {
    #[command(flatten)]
    pub source: AuditSource,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The daemon's data dir (it may be running).
    #[arg(long, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// The copy to write; an existing file is never overwritten.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Print the events, oldest first, to stdout.
    Query(ConsentQueryArgs),
    /// Write the events, oldest first, to --out (CSV unless --format jsonl or FILE ends in .jsonl).
    Export(ConsentExportArgs),
}

/// The filters of Compliance.ConsentHistory: a subscriber, an enterprise or both, and a time range.
#[derive(Debug, Clone, Args)]
#[group(id = "who", required = true, multiple = true)]
pub struct ConsentFilter {
    /// Subscriber number (11 digits, optional +86).
    #[arg(long, value_name = "M")]
    pub msisdn: Option<String>,
    /// Enterprise id.
    #[arg(long, value_name = "E")]
    pub enterprise: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct TimeArgs {
    /// Events at or after this time (RFC 3339).
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub from: Option<jiff::Timestamp>,
    /// Events before this time (RFC 3339).
    #[arg(long, value_name = "T", value_parser = parse_time)]
    pub to: Option<jiff::Timestamp>,
}

#[derive(Debug, Args)]
pub struct ConsentQueryArgs {
    /// The daemon's gRPC address.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_TARGET)]
    pub target: String,
    #[command(flatten)]
    pub filter: ConsentFilter,
    #[command(flatten)]
    pub time: TimeArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ConsentExportArgs {
    /// The daemon's gRPC address.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_TARGET)]
    pub target: String,
    #[command(flatten)]
    pub filter: ConsentFilter,
    #[command(flatten)]
    pub time: TimeArgs,
    /// The file to write (replaced once the export is complete).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Output format; default CSV, or JSON Lines when FILE ends in .jsonl.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Subcommand)]
pub enum DecisionsCommand {
    /// Print the audited decisions, oldest first, to stdout.
    Query(DecisionsQueryArgs),
    /// Write the audited decisions, oldest first, to --out (CSV unless --format jsonl or FILE ends
    /// in .jsonl).
    Export(DecisionsExportArgs),
}

/// The filters of Compliance.Decisions: at least one of a subscriber, an enterprise, a sender port
/// or a message id, plus a time range and a row limit.
#[derive(Debug, Clone, Args)]
#[group(id = "decision_filter", required = true, multiple = true)]
pub struct DecisionFilter {
    /// Subscriber number (11 digits, optional +86).
    #[arg(long, value_name = "M")]
    pub msisdn: Option<String>,
    /// Enterprise id.
    #[arg(long, value_name = "E")]
    pub enterprise: Option<String>,
    /// Sender port (short code).
    #[arg(long, value_name = "P")]
    pub port: Option<String>,
    /// The gateway's message id.
    #[arg(long, value_name = "ID")]
    pub message_id: Option<String>,
}

/// What `decisions query|export` ask Compliance.Decisions for, and where.
#[derive(Debug, Clone, Args)]
pub struct DecisionsSelect {
    /// The daemon's gRPC address.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_TARGET)]
    pub target: String,
    #[command(flatten)]
    pub filter: DecisionFilter,
    #[command(flatten)]
    pub time: TimeArgs,
    /// At most this many decisions, oldest first (0: the server's default).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct DecisionsQueryArgs {
    #[command(flatten)]
    pub select: DecisionsSelect,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Csv)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct DecisionsExportArgs {
    #[command(flatten)]
    pub select: DecisionsSelect,
    /// The file to write (replaced once the export is complete).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Output format; default CSV, or JSON Lines when FILE ends in .jsonl.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Csv,
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum OptoutCommand {
    /// Stream a file of `msisdn[,enterprise_id[,commercial|collection]]` lines through
    /// Registry.ImportOptOuts: exit 0 all accepted, 1 some rejected, 2 usage or I/O error.
    Import(OptoutImportArgs),
}

#[derive(Debug, Args)]
pub struct OptoutImportArgs {
    /// The daemon's gRPC address.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_TARGET)]
    pub target: String,
    /// One opt-out per line; blank lines and lines starting with # are skipped.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ThrottleCommand {
    /// Every (province, enterprise) above NORMAL and every operator block (Operations.ListThrottles).
    Status(ThrottleStatusArgs),
    /// Block a province (optionally for one enterprise) by hand; audited with --operator.
    Block(ThrottleBlockArgs),
    /// Lift an operator block; exit 2 when there is none.
    Unblock(ThrottleUnblockArgs),
}

#[derive(Debug, Args)]
pub struct ThrottleStatusArgs {
    /// The daemon's gRPC address.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_TARGET)]
    pub target: String,
    /// Only this province (as in the number-segment table, e.g. 广东).
    #[arg(long, value_name = "P")]
    pub province: Option<String>,
    /// Only this enterprise id.
    #[arg(long, value_name = "E")]
    pub enterprise: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatusFormat::Table)]
    pub format: StatusFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Table,
    Jsonl,
}

/// What `throttle block|unblock` name: the region, the categories and who does it.
#[derive(Debug, Clone, Args)]
pub struct RegionBlockArgs {
    /// The daemon's gRPC address.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_TARGET)]
    pub target: String,
    /// Province, as in the number-segment table (e.g. 广东, 北京).
    #[arg(long, value_name = "P")]
    pub province: String,
    /// Only this enterprise id; every enterprise when absent.
    #[arg(long, value_name = "E")]
    pub enterprise: Option<String>,
    /// A category to block (repeatable); MARKETING and LOAN_MARKETING when absent.
    #[arg(long = "category", value_name = "C", value_enum, ignore_case = true)]
    pub categories: Vec<BlockCategory>,
    /// Who does it (audited).
    #[arg(long, value_name = "NAME")]
    pub operator: String,
}

#[derive(Debug, Args)]
pub struct ThrottleBlockArgs {
    #[command(flatten)]
    pub region: RegionBlockArgs,
    /// Why (audited).
    #[arg(long, value_name = "R")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct ThrottleUnblockArgs {
    #[command(flatten)]
    pub region: RegionBlockArgs,
    /// Why (audited; optional when lifting).
    #[arg(long, value_name = "R")]
    pub reason: Option<String>,
}

/// The categories an operator block can name (case-insensitive on the command line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BlockCategory {
    #[value(name = "MARKETING")]
    Marketing,
    #[value(name = "LOAN_MARKETING")]
    LoanMarketing,
    #[value(name = "COLLECTION")]
    Collection,
    #[value(name = "SERVICE")]
    Service,
    #[value(name = "VERIFICATION")]
    Verification,
}

fn parse_head(s: &str) -> Result<Head, String> {
    Head::parse(s).ok_or_else(|| "expected SEQ:HASH with a 64-hex-character hash".to_owned())
}

fn parse_time(s: &str) -> Result<jiff::Timestamp, String> {
    s.trim()
        .parse::<jiff::Timestamp>()
        .map_err(|e| format!("not an RFC 3339 time: {e}"))
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Main configuration file (TOML); embedded defaults when absent.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// gRPC listen address; port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT")]
    pub grpc_addr: Option<String>,
    /// Prometheus /metrics listen address; port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,
    /// Where durable state lives (created on first start).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Sender registry file (TOML), instead of the one the config names.
    #[arg(long, value_name = "FILE")]
    pub senders: Option<PathBuf>,
    /// Kafka bootstrap servers: turns on Kafka ingress and egress (config `[kafka]`).
    #[arg(long, value_name = "HOST:PORT[,...]")]
    pub kafka_brokers: Option<String>,
    /// Kafka consumer group id.
    #[arg(long, value_name = "ID")]
    pub kafka_group: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub senders: Option<PathBuf>,
}

impl ServeArgs {
    pub fn source(&self) -> ConfigSource {
        ConfigSource {
            config_path: self.config.clone(),
            overrides: Overrides {
                grpc_addr: self.grpc_addr.clone(),
                metrics_addr: self.metrics_addr.clone(),
                data_dir: self.data_dir.clone(),
                senders: self.senders.clone(),
                kafka_brokers: self.kafka_brokers.clone(),
                kafka_group: self.kafka_group.clone(),
            },
        }
    }
}

impl CheckConfigArgs {
    pub fn source(&self) -> ConfigSource {
        ConfigSource {
            config_path: self.config.clone(),
            overrides: Overrides {
                senders: self.senders.clone(),
                ..Overrides::default()
            },
        }
    }
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Labeled files (UTF-8 TSV with a header naming `label` and `text`).
    #[arg(long, value_name = "FILE.tsv", num_args = 1.., required = true)]
    pub data: Vec<PathBuf>,
    /// Where to write the model.
    #[arg(long, value_name = "MODEL")]
    pub out: PathBuf,
    /// Seed of the training order (same data and seed: same model bytes).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Include the operators' corrections (Operations.Feedback) stored by a daemon.
    #[arg(long)]
    pub feedback: bool,
    /// With --feedback: a stopped daemon's data dir, read-only.
    #[arg(
        long,
        value_name = "DIR",
        requires = "feedback",
        conflicts_with = "target"
    )]
    pub data_dir: Option<PathBuf>,
    /// With --feedback: a running daemon's gRPC address.
    #[arg(long, value_name = "HOST:PORT", requires = "feedback")]
    pub target: Option<String>,
    /// Passes over the data.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub epochs: u32,
    /// log2 of the spam head's hash buckets (model size grows with it).
    #[arg(long, value_name = "N", default_value_t = 22)]
    pub bits: u8,
    /// log2 of the other heads' hash buckets.
    #[arg(long, value_name = "N", default_value_t = 18)]
    pub head_bits: u8,
    /// Longest character n-gram.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_n: u8,
    /// AdaGrad step size.
    #[arg(long, value_name = "R", default_value_t = 0.5)]
    pub learning_rate: f32,
    /// L2 penalty on the weights an update touches.
    #[arg(long, value_name = "L", default_value_t = 1e-6)]
    pub l2: f32,
    /// The spam head's SVM C (inverse regularisation, as liblinear's).
    #[arg(long, value_name = "C", default_value_t = 10.0)]
    pub spam_c: f32,
    /// log2 of the idf table's buckets (0: no idf, plain sublinear tf).
    #[arg(long, value_name = "N", default_value_t = 22)]
    pub idf_bits: u8,
    /// C of the fake-base-station head's one-vs-rest SVMs (0: softmax regression by SGD).
    #[arg(long, value_name = "C", default_value_t = 10.0)]
    pub fbs_c: f32,
    /// Stopping tolerance of the spam head's SVM solver.
    #[arg(long, value_name = "T", default_value_t = 0.1)]
    pub svm_tolerance: f32,
    /// Weight in the spam head of rows labeled plainly spam/ham (port rows: 3, others: 1).
    #[arg(long, value_name = "W", default_value_t = 1.0)]
    pub binary_weight: f32,
    /// P(spam) at which `eval` calls a row spam in a spam/ham file (stored in the model; 0.5
    /// without it). Serving uses policy.spam_reject_score instead.
    #[arg(long, value_name = "P", value_parser = parse_probability)]
    pub spam_threshold: Option<f32>,
    /// Labels whose rows do not train the spam head (comma-separated, e.g. MARKETING).
    #[arg(long, value_name = "LABELS", value_delimiter = ',')]
    pub spam_skip: Vec<String>,
    /// Labeled port files (category labels only) whose rows train the category head and not the
    /// spam head: port traffic in more words, without moving the spam/ham boundary the public
    /// sets are measured on.
    #[arg(long, value_name = "FILE.tsv", num_args = 1..)]
    pub category_data: Vec<PathBuf>,
    /// Store the spam head's i8 weights companded with this power (weight ∝ (|q|/127)^P; 2 keeps
    /// the many small SVM weights that a linear scale rounds to 0). Without it: linear.
    #[arg(long, value_name = "P")]
    pub spam_power: Option<f32>,
    /// Add the feature "whitespace between CJK characters was dropped" (stored in the model).
    #[arg(long)]
    pub cjk_spacing: bool,
    /// Add the feature text's length class as a feature (stored in the model).
    #[arg(long)]
    pub length: bool,
    /// log2 of the buckets of a second spam head fitted on the rows without a 【signature】 only,
    /// which scores unsigned messages (legitimate port traffic is signed). 0: none
    #[arg(long, default_value_t = 0)]
    pub unsigned_bits: u8,
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model file.
    #[arg(long, value_name = "MODEL")]
    pub model: PathBuf,
    /// A labeled file (UTF-8 TSV with a header naming `label` and `text`).
    #[arg(long, value_name = "FILE.tsv")]
    pub data: PathBuf,
    /// One JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// The spam score at which serving flags a message (policy.spam_reject_score).
    #[arg(long, value_name = "SCORE", default_value_t = 0.8)]
    pub spam_reject_score: f64,
    /// Also write the rows the model gets wrong (predicted label or serving's flag disagrees with
    /// the truth) to this TSV, with the prediction, category, spam score and symbols.
    #[arg(long, value_name = "FILE.tsv")]
    pub errors: Option<PathBuf>,
    /// P(spam) at which a row of a spam/ham file counts as spam (default: the model's own, else
    /// 0.5), to compare thresholds on a dev split.
    #[arg(long, value_name = "P", value_parser = parse_probability)]
    pub spam_threshold: Option<f32>,
}

fn parse_probability(s: &str) -> Result<f32, String> {
    let p: f32 = s.parse().map_err(|e| format!("{e}"))?;
    if p > 0.0 && p < 1.0 {
        Ok(p)
    } else {
        Err(format!("{p} is not strictly between 0 and 1"))
    }
}
