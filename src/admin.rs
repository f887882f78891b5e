//! The operator commands of API.md ("Command line and files"): `audit verify|head`, `backup`,
//! `consent query|export`, `decisions query|export`, `optout import` and
//! `throttle status|block|unblock`. `--data-dir` commands read the store directly
//! (read-only); `--target` commands go through the gRPC API like any other client. Each command
//! ends in an [`Outcome`]; `main.rs` turns it into the exit code (0 clean, 1 finding, 2 error).

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::Connection as _;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use tokio::sync::mpsc;
use tonic::transport::{Channel, Endpoint};

use crate::cli::{
    AdminCommand, AuditCommand, AuditSource, AuditVerifyArgs, BackupArgs, BlockCategory,
    ConsentCommand, ConsentFilter, DecisionsCommand, DecisionsSelect, Format, OptoutCommand,
    OptoutImportArgs, RegionBlockArgs, StatusFormat, ThrottleCommand, ThrottleStatusArgs, TimeArgs,
};
use crate::proto::compliance_client::ComplianceClient;
use crate::proto::operations_client::OperationsClient;
use crate::proto::registry_client::RegistryClient;
use crate::proto::{self, ConsentEventKind};
use crate::store::audit::{Head, VerifyReport};
use crate::store::{self, DB_FILE, StoreError};

/// How a command that ran to the end came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Clean,
    /// Exit 1: the chain is broken, or some opt-out lines were rejected.
    Finding,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("--target {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("{rpc}: {code:?}: {message}")]
    Rpc {
        rpc: &'static str,
        code: tonic::Code,
        message: String,
    },
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--out {}: already exists; refusing to overwrite it", .0.display())]
    OutExists(PathBuf),
    #[error("--out {}: not a UTF-8 path", .0.display())]
    OutPath(PathBuf),
    #[error("backup: {0}")]
    Backup(sqlx::Error),
    #[error("output: {0}")]
    Output(std::io::Error),
    #[error("{0}")]
    Usage(String),
}

impl AdminError {
    fn rpc(rpc: &'static str) -> impl FnOnce(tonic::Status) -> AdminError {
        move |s| AdminError::Rpc {
            rpc,
            code: s.code(),
            message: s.message().to_owned(),
        }
    }

    fn file(path: &Path) -> impl FnOnce(std::io::Error) -> AdminError + '_ {
        move |source| AdminError::File {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Runs one operator command, writing its result to `out` (stdout in the binary).
pub async fn run(command: AdminCommand, out: &mut dyn Write) -> Result<Outcome, AdminError> {
    match command {
        AdminCommand::Audit(AuditCommand::Verify(args)) => audit_verify(&args, out).await,
        AdminCommand::Audit(AuditCommand::Head(args)) => audit_head(&args.source, out).await,
        AdminCommand::Backup(args) => backup(&args, out).await,
        AdminCommand::Consent(ConsentCommand::Query(args)) => {
            let query = History::consent(&args.filter, &args.time);
            print_history(&args.target, &query, args.format, out).await
        }
        AdminCommand::Consent(ConsentCommand::Export(args)) => {
            let query = History::consent(&args.filter, &args.time);
            export_history(&args.target, &query, args.format, &args.out).await
        }
        AdminCommand::Decisions(DecisionsCommand::Query(args)) => {
            let query = History::decisions(&args.select);
            print_history(&args.select.target, &query, args.format, out).await
        }
        AdminCommand::Decisions(DecisionsCommand::Export(args)) => {
            let query = History::decisions(&args.select);
            export_history(&args.select.target, &query, args.format, &args.out).await
        }
        AdminCommand::Optout(OptoutCommand::Import(args)) => optout_import(&args, out).await,
        AdminCommand::Throttle(ThrottleCommand::Status(args)) => throttle_status(&args, out).await,
        AdminCommand::Throttle(ThrottleCommand::Block(args)) => {
            region_block(&args.region, Some(&args.reason), true, out).await
        }
        AdminCommand::Throttle(ThrottleCommand::Unblock(args)) => {
            region_block(&args.region, args.reason.as_deref(), false, out).await
        }
    }
}

// ---------------------------------------------------------------------------------------------
// gRPC plumbing

/// How this process's `--target` commands identify themselves: API.md's `--token` and `--ca`.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Sent as `authorization: Bearer <token>` on every call.
    pub token: Option<String>,
    /// PEM CA certificate that signed the daemon's certificate; given, the connection is TLS.
    pub ca: Option<std::path::PathBuf>,
}

static CREDENTIALS: std::sync::OnceLock<Credentials> = std::sync::OnceLock::new();

/// Sets the credentials every later `connect` uses (once, from the command line).
pub fn use_credentials(credentials: Credentials) {
    let _ = CREDENTIALS.set(credentials);
}

/// A channel that adds the client's bearer token to every request.
#[derive(Clone)]
pub struct AuthChannel {
    inner: Channel,
    authorization: Option<http::HeaderValue>,
}

impl tower::Service<http::Request<tonic::body::Body>> for AuthChannel {
    type Response = <Channel as tower::Service<http::Request<tonic::body::Body>>>::Response;
    type Error = <Channel as tower::Service<http::Request<tonic::body::Body>>>::Error;
    type Future = <Channel as tower::Service<http::Request<tonic::body::Body>>>::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        tower::Service::poll_ready(&mut self.inner, cx)
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> Self::Future {
        if let Some(value) = &self.authorization {
            req.headers_mut()
                .insert(http::header::AUTHORIZATION, value.clone());
        }
        tower::Service::call(&mut self.inner, req)
    }
}

pub(crate) async fn connect(target: &str) -> Result<AuthChannel, AdminError> {
    let credentials = CREDENTIALS.get().cloned().unwrap_or_default();
    let tls = credentials.ca.is_some() || target.starts_with("https://");
    let uri = if target.contains("://") {
        target.to_owned()
    } else if tls {
        format!("https://{target}")
    } else {
        format!("http://{target}")
    };
    let fail = |reason: String| AdminError::Connect {
        target: target.to_owned(),
        reason,
    };
    let authorization = credentials
        .token
        .as_deref()
        .map(|t| http::HeaderValue::from_str(&format!("Bearer {t}")))
        .transpose()
        .map_err(|_| fail("--token: not a printable ASCII token".into()))?;
    let mut endpoint = Endpoint::from_shared(uri)
        .map_err(|e| fail(error_chain(&e)))?
        .connect_timeout(Duration::from_secs(5));
    if tls {
        let mut config = tonic::transport::ClientTlsConfig::new();
        if let Some(ca) = &credentials.ca {
            let pem = std::fs::read(ca).map_err(|e| fail(format!("--ca {}: {e}", ca.display())))?;
            config = config.ca_certificate(tonic::transport::Certificate::from_pem(pem));
        }
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| fail(error_chain(&e)))?;
    }
    let inner = endpoint
        .connect()
        .await
        .map_err(|e| fail(error_chain(&e)))?;
    Ok(AuthChannel {
        inner,
        authorization,
    })
}

/// `transport error: tcp connect error: Connection refused`, not just `transport error`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(cause) = next {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        next = cause.source();
    }
    s
}

fn to_proto_ts(t: jiff::Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.as_second(),
        nanos: t.subsec_nanosecond(),
    }
}

fn rfc3339(t: &prost_types::Timestamp) -> String {
    match jiff::Timestamp::new(t.seconds, t.nanos) {
        Ok(ts) => ts.to_string(),
        Err(_) => format!("{}.{:09}s", t.seconds, t.nanos),
    }
}

// ---------------------------------------------------------------------------------------------
// audit verify | head

async fn audit_verify(args: &AuditVerifyArgs, out: &mut dyn Write) -> Result<Outcome, AdminError> {
    let report = match (&args.source.data_dir, &args.source.target) {
        (Some(dir), _) => {
            let pool = store::open_read_only(dir).await?;
            let report = store::verify_chain(&pool, args.expect_head.as_ref()).await;
            pool.close().await;
            report?
        }
        (None, target) => {
            let target = target.as_deref().unwrap_or(crate::cli::DEFAULT_TARGET);
            verify_remote(target, args.expect_head.as_ref()).await?
        }
    };
    if report.ok {
        writeln!(out, "ok: {} records, head {}", report.records, report.head)
            .map_err(AdminError::Output)?;
        Ok(Outcome::Clean)
    } else {
        writeln!(
            out,
            "BROKEN at seq {}: {}",
            report.first_bad_seq, report.detail
        )
        .map_err(AdminError::Output)?;
        Ok(Outcome::Finding)
    }
}

async fn audit_head(source: &AuditSource, out: &mut dyn Write) -> Result<Outcome, AdminError> {
    let head = match (&source.data_dir, &source.target) {
        (Some(dir), _) => {
            let pool = store::open_read_only(dir).await?;
            let head = store::head(&pool).await;
            pool.close().await;
            head?
        }
        (None, target) => {
            let target = target.as_deref().unwrap_or(crate::cli::DEFAULT_TARGET);
            verify_remote(target, None).await?.head
        }
    };
    writeln!(out, "{head}").map_err(AdminError::Output)?;
    Ok(Outcome::Clean)
}

async fn verify_remote(target: &str, expect: Option<&Head>) -> Result<VerifyReport, AdminError> {
    let mut client = ComplianceClient::new(connect(target).await?);
    let request = proto::VerifyAuditRequest {
        expect_seq: expect.map_or(0, |h| h.seq),
        expect_hash: expect.map(|h| h.hash.clone()).unwrap_or_default(),
    };
    let r = client
        .verify_audit(request)
        .await
        .map_err(AdminError::rpc("Compliance.VerifyAudit"))?
        .into_inner();
    Ok(VerifyReport {
        ok: r.ok,
        records: r.records,
        head: Head {
            seq: r.head_seq,
            hash: r.head_hash,
        },
        first_bad_seq: r.first_bad_seq,
        detail: r.detail,
    })
}

// ---------------------------------------------------------------------------------------------
// backup

/// `VACUUM INTO` on a read-only connection: one read transaction, so the copy is a consistent
/// snapshot even while the daemon keeps writing (WAL readers never block the writer).
async fn backup(args: &BackupArgs, out: &mut dyn Write) -> Result<Outcome, AdminError> {
    let db = args.data_dir.join(DB_FILE);
    let exists = |p: &Path| p.try_exists().map_err(AdminError::file(p));
    if !exists(&db)? {
        return Err(
            StoreError::DataDir(args.data_dir.clone(), format!("{DB_FILE} not found")).into(),
        );
    }
    if exists(&args.out)? || args.out.symlink_metadata().is_ok() {
        return Err(AdminError::OutExists(args.out.clone()));
    }
    let target = args
        .out
        .to_str()
        .ok_or_else(|| AdminError::OutPath(args.out.clone()))?;
    let options = SqliteConnectOptions::new()
        .filename(&db)
        .read_only(true)
        .busy_timeout(Duration::from_secs(10));
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(AdminError::Backup)?;
    let copied = sqlx::query("VACUUM INTO ?1")
        .bind(target)
        .execute(&mut conn)
        .await;
    // Closing is best effort: the copy is complete (or failed) either way.
    let _ = conn.close().await;
    copied.map_err(AdminError::Backup)?;

    // Read the copy's head back: proof that it opens, and the value to compare after a restore.
    let options = SqliteConnectOptions::new()
        .filename(&args.out)
        .read_only(true);
    let mut copy = SqliteConnection::connect_with(&options)
        .await
        .map_err(AdminError::Backup)?;
    let head = sqlx::query_as::<_, (i64, String)>(
        "SELECT last_seq, hash FROM audit_batches ORDER BY batch_id DESC LIMIT 1",
    )
    .fetch_optional(&mut copy)
    .await
    .map_err(AdminError::Backup)?;
    let _ = copy.close().await;
    let bytes = std::fs::metadata(&args.out)
        .map_err(AdminError::file(&args.out))?
        .len();
    let head = match head {
        Some((seq, hash)) => format!("{seq}:{hash}"),
        None => "0 (empty chain)".to_owned(),
    };
    writeln!(
        out,
        "backup written: {} ({bytes} bytes, audit head {head})",
        args.out.display()
    )
    .map_err(AdminError::Output)?;
    Ok(Outcome::Clean)
}

// ---------------------------------------------------------------------------------------------
// consent query | export, decisions query | export

/// The columns of `consent query|export`, in order; JSON Lines objects use the same keys.
pub const CONSENT_COLUMNS: [&str; 16] = [
    "seq",
    "kind",
    "at",
    "msisdn",
    "enterprise_id",
    "consent_id",
    "channel",
    "evidence_ref",
    "evidence_sha256",
    "scope",
    "granted_at",
    "revoked_at",
    "expires_at",
    "opt_out_scope",
    "complaint_id",
    "hash",
];

/// The columns of `decisions query|export`, in order; JSON Lines objects use the same keys.
pub const DECISION_COLUMNS: [&str; 16] = [
    "seq",
    "decided_at",
    "decision_id",
    "message_id",
    "sender_port",
    "msisdn",
    "enterprise_id",
    "verdict",
    "reasons",
    "category",
    "spam_score",
    "symbols",
    "consent_id",
    "smpp_status",
    "text",
    "hash",
];

/// One cell: absent (empty in CSV, null in JSON), text, a number or a list of names.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Null,
    Text(String),
    Number(u64),
    Float(f64),
    Bool(bool),
    List(Vec<String>),
}

fn text(s: &str) -> Cell {
    if s.is_empty() {
        Cell::Null
    } else {
        Cell::Text(s.to_owned())
    }
}

fn time(t: &Option<prost_types::Timestamp>) -> Cell {
    t.as_ref().map_or(Cell::Null, |t| Cell::Text(rfc3339(t)))
}

/// A proto enum value's name without its prefix (`CHANNEL_WEB_FORM` -> `WEB_FORM`); unknown
/// numbers as themselves. `name` is the enum's `as_str_name`.
fn enum_str<E: TryFrom<i32>>(raw: i32, prefix: &str, name: fn(&E) -> &'static str) -> String {
    match E::try_from(raw) {
        Ok(e) => {
            let n = name(&e);
            n.strip_prefix(prefix).unwrap_or(n).to_owned()
        }
        Err(_) => raw.to_string(),
    }
}

fn enum_name<E: TryFrom<i32>>(raw: i32, prefix: &str, name: fn(&E) -> &'static str) -> Cell {
    Cell::Text(enum_str(raw, prefix, name))
}

fn channel_name(raw: i32) -> Cell {
    enum_name(raw, "CHANNEL_", proto::Channel::as_str_name)
}

fn event_cells(e: &proto::ConsentEvent) -> [Cell; 16] {
    let kind = enum_name(e.kind, "CONSENT_EVENT_KIND_", ConsentEventKind::as_str_name);
    let c = e.consent.as_ref();
    let o = e.opt_out.as_ref();
    let msisdn = c.map(|c| &c.msisdn).or(o.map(|o| &o.msisdn));
    let enterprise = c.map(|c| &c.enterprise_id).or(o.map(|o| &o.enterprise_id));
    let channel = c.map(|c| c.channel).or(o.map(|o| o.channel));
    [
        Cell::Number(e.seq),
        kind,
        time(&e.at),
        msisdn.map_or(Cell::Null, |s| text(s)),
        enterprise.map_or(Cell::Null, |s| text(s)),
        c.map_or(Cell::Null, |c| text(&c.consent_id)),
        channel.map_or(Cell::Null, channel_name),
        c.map_or(Cell::Null, |c| text(&c.evidence_ref)),
        c.map_or(Cell::Null, |c| text(&c.evidence_sha256)),
        c.map_or(Cell::Null, |c| {
            Cell::List(
                c.scope
                    .iter()
                    .map(|&s| enum_str(s, "CATEGORY_", proto::Category::as_str_name))
                    .collect(),
            )
        }),
        c.map_or(Cell::Null, |c| time(&c.granted_at)),
        c.map_or(Cell::Null, |c| time(&c.revoked_at)),
        c.map_or(Cell::Null, |c| time(&c.expires_at)),
        o.map_or(Cell::Null, |o| {
            enum_name(o.scope, "OPT_OUT_SCOPE_", proto::OptOutScope::as_str_name)
        }),
        text(&e.complaint_id),
        text(&e.hash),
    ]
}

fn decision_cells(r: &proto::DecisionRecord) -> [Cell; 16] {
    let q = r.request.as_ref();
    let d = r.decision.as_ref();
    let message_id = q
        .map(|q| q.message_id.as_str())
        .filter(|m| !m.is_empty())
        .or(d.map(|d| d.message_id.as_str()));
    [
        Cell::Number(r.seq),
        time(&r.decided_at),
        d.map_or(Cell::Null, |d| text(&d.decision_id)),
        message_id.map_or(Cell::Null, text),
        q.map_or(Cell::Null, |q| text(&q.sender_port)),
        q.map_or(Cell::Null, |q| text(&q.msisdn)),
        d.map_or(Cell::Null, |d| text(&d.enterprise_id)),
        d.map_or(Cell::Null, |d| {
            enum_name(d.verdict, "VERDICT_", proto::Verdict::as_str_name)
        }),
        d.map_or(Cell::Null, |d| {
            Cell::List(
                d.reasons
                    .iter()
                    .map(|r| enum_str(r.code, "REASON_", proto::ReasonCode::as_str_name))
                    .collect(),
            )
        }),
        d.map_or(Cell::Null, |d| {
            enum_name(d.category, "CATEGORY_", proto::Category::as_str_name)
        }),
        d.map_or(Cell::Null, |d| Cell::Float(d.spam_score)),
        d.map_or(Cell::Null, |d| Cell::List(d.symbols.clone())),
        d.map_or(Cell::Null, |d| text(&d.consent_id)),
        d.map_or(Cell::Null, |d| Cell::Number(d.smpp_status.into())),
        // Empty when the server omitted it (verification codes are never stored).
        q.map_or(Cell::Null, |q| text(&q.text)),
        text(&r.hash),
    ]
}

/// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        std::borrow::Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

fn csv_line(cells: &[Cell]) -> String {
    let mut line = String::new();
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        match cell {
            Cell::Null => {}
            Cell::Text(s) => line.push_str(&csv_field(s)),
            Cell::Number(n) => line.push_str(&n.to_string()),
            Cell::Float(x) => line.push_str(&x.to_string()),
            Cell::Bool(b) => line.push_str(if *b { "true" } else { "false" }),
            // Category, reason and symbol names never contain `;`.
            Cell::List(items) => line.push_str(&csv_field(&items.join(";"))),
        }
    }
    line
}

/// One JSON object with the keys in column order (serde_json's map would sort them).
fn json_line(columns: &[&str], cells: &[Cell]) -> String {
    let mut line = String::from("{");
    for (i, (key, cell)) in columns.iter().zip(cells).enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push_str(&serde_json::Value::from(*key).to_string());
        line.push(':');
        let value = match cell {
            Cell::Null => serde_json::Value::Null,
            Cell::Text(s) => serde_json::Value::from(s.as_str()),
            Cell::Number(n) => serde_json::Value::from(*n),
            Cell::Float(x) => serde_json::Value::from(*x),
            Cell::Bool(b) => serde_json::Value::from(*b),
            Cell::List(items) => serde_json::Value::from(items.clone()),
        };
        line.push_str(&value.to_string());
    }
    line.push('}');
    line
}

/// A query of one of the Compliance history streams (both oldest first).
#[derive(Debug, Clone)]
enum History {
    Consent(proto::ConsentQuery),
    Decisions(proto::DecisionQuery),
}

fn time_range(time: &TimeArgs) -> Option<proto::TimeRange> {
    (time.from.is_some() || time.to.is_some()).then(|| proto::TimeRange {
        start: time.from.map(to_proto_ts),
        end: time.to.map(to_proto_ts),
    })
}

impl History {
    fn consent(filter: &ConsentFilter, time: &TimeArgs) -> History {
        History::Consent(proto::ConsentQuery {
            msisdn: filter.msisdn.clone().unwrap_or_default(),
            enterprise_id: filter.enterprise.clone().unwrap_or_default(),
            range: time_range(time),
        })
    }

    fn decisions(select: &DecisionsSelect) -> History {
        let f = &select.filter;
        History::Decisions(proto::DecisionQuery {
            msisdn: f.msisdn.clone().unwrap_or_default(),
            sender_port: f.port.clone().unwrap_or_default(),
            message_id: f.message_id.clone().unwrap_or_default(),
            enterprise_id: f.enterprise.clone().unwrap_or_default(),
            range: time_range(&select.time),
            limit: select.limit,
        })
    }

    /// What one row is called in the summary on stderr.
    fn noun(&self) -> &'static str {
        match self {
            History::Consent(_) => "event",
            History::Decisions(_) => "decision",
        }
    }

    /// Streams the query's rows into `out`, oldest first; returns the number of rows.
    async fn write(
        &self,
        target: &str,
        format: Format,
        out: &mut dyn Write,
    ) -> Result<u64, AdminError> {
        let mut client = ComplianceClient::new(connect(target).await?);
        match self {
            History::Consent(q) => {
                const RPC: &str = "Compliance.ConsentHistory";
                let stream = client.consent_history(q.clone()).await;
                let stream = stream.map_err(AdminError::rpc(RPC))?.into_inner();
                write_rows(RPC, &CONSENT_COLUMNS, event_cells, stream, format, out).await
            }
            History::Decisions(q) => {
                const RPC: &str = "Compliance.Decisions";
                let stream = client.decisions(q.clone()).await;
                let stream = stream.map_err(AdminError::rpc(RPC))?.into_inner();
                write_rows(RPC, &DECISION_COLUMNS, decision_cells, stream, format, out).await
            }
        }
    }
}

/// Writes a header (CSV only) and one line per message of `stream`.
async fn write_rows<T, const N: usize>(
    rpc: &'static str,
    columns: &[&str; N],
    cells: fn(&T) -> [Cell; N],
    mut stream: tonic::Streaming<T>,
    format: Format,
    out: &mut dyn Write,
) -> Result<u64, AdminError> {
    if format == Format::Csv {
        writeln!(out, "{}", columns.join(",")).map_err(AdminError::Output)?;
    }
    let mut n = 0u64;
    while let Some(row) = stream.message().await.map_err(AdminError::rpc(rpc))? {
        let cells = cells(&row);
        let line = match format {
            Format::Csv => csv_line(&cells),
            Format::Jsonl => json_line(columns, &cells),
        };
        writeln!(out, "{line}").map_err(AdminError::Output)?;
        n += 1;
    }
    Ok(n)
}

/// `query`: the rows to `out`, their count to stderr.
async fn print_history(
    target: &str,
    query: &History,
    format: Format,
    out: &mut dyn Write,
) -> Result<Outcome, AdminError> {
    let mut buffered = std::io::BufWriter::new(out);
    let n = query.write(target, format, &mut buffered).await?;
    buffered.flush().map_err(AdminError::Output)?;
    eprintln!("{n} {}(s)", query.noun());
    Ok(Outcome::Clean)
}

/// `export`: CSV unless `--format jsonl` or the file name ends in `.jsonl`.
async fn export_history(
    target: &str,
    query: &History,
    format: Option<Format>,
    path: &Path,
) -> Result<Outcome, AdminError> {
    let jsonl = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"));
    let format = format.unwrap_or(if jsonl { Format::Jsonl } else { Format::Csv });
    let n = export(target, query, format, path).await?;
    eprintln!("wrote {n} {}(s) to {}", query.noun(), path.display());
    Ok(Outcome::Clean)
}

/// Writes to `FILE.partial` and renames it over `FILE` once complete, so a failed export never
/// leaves a truncated file that looks whole.
async fn export(
    target: &str,
    query: &History,
    format: Format,
    path: &Path,
) -> Result<u64, AdminError> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial).map_err(AdminError::file(&partial))?;
    let mut w = std::io::BufWriter::new(file);
    let written = query.write(target, format, &mut w).await;
    let finished = written.and_then(|n| {
        w.into_inner()
            .map_err(|e| AdminError::file(&partial)(e.into_error()))?
            .sync_all()
            .map_err(AdminError::file(&partial))?;
        std::fs::rename(&partial, path).map_err(AdminError::file(path))?;
        Ok(n)
    });
    if finished.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    finished
}

// ---------------------------------------------------------------------------------------------
// optout import

/// Errors listed per source (the server lists its first 1,000 too); all are counted.
const MAX_LISTED_ERRORS: usize = 1000;
/// Requests read ahead of the gRPC stream: the file is streamed, never loaded whole.
const IMPORT_QUEUE: usize = 1024;

/// A line the import did not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub reason: String,
}

/// What reading the file produced besides the requests it sent.
#[derive(Debug, Default)]
struct ReadSummary {
    sent: u64,
    local_rejected: u64,
    errors: Vec<LineError>,
    /// (stream index, file line) at every point where the gap between the two changes: maps the
    /// server's 0-based stream index back to the line in memory proportional to skipped runs.
    breaks: Vec<(u64, u64)>,
}

impl ReadSummary {
    fn line_of(&self, index: u64) -> Option<u64> {
        let at = self.breaks.partition_point(|&(i, _)| i <= index);
        let &(i, line) = self.breaks.get(at.checked_sub(1)?)?;
        Some(line + (index - i))
    }

    fn record_sent(&mut self, line: u64) {
        let index = self.sent;
        let gap_changed = self
            .breaks
            .last()
            .is_none_or(|&(i, l)| l - i != line - index);
        if gap_changed {
            self.breaks.push((index, line));
        }
        self.sent += 1;
    }

    fn reject(&mut self, line: u64, reason: String) {
        self.local_rejected += 1;
        if self.errors.len() < MAX_LISTED_ERRORS {
            self.errors.push(LineError { line, reason });
        }
    }
}

/// Parses one line of an opt-out file: `msisdn[,enterprise_id[,commercial|collection]]`.
/// `Ok(None)` for a blank or `#` line. The msisdn itself is validated by the server.
pub fn parse_opt_out_line(line: &str) -> Result<Option<proto::OptOutRequest>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let cols: Vec<&str> = line.split(',').map(str::trim).collect();
    let (msisdn, enterprise, scope) = match cols.as_slice() {
        [m] => (*m, "", None),
        [m, e] => (*m, *e, None),
        [m, e, s] => (*m, *e, Some(*s)),
        _ => {
            return Err(format!(
                "{} columns; expected msisdn[,enterprise_id[,commercial|collection]]",
                cols.len()
            ));
        }
    };
    if msisdn.is_empty() {
        return Err("msisdn: empty".to_owned());
    }
    let scope = match scope {
        None | Some("") => proto::OptOutScope::Commercial,
        Some(s) if s.eq_ignore_ascii_case("commercial") => proto::OptOutScope::Commercial,
        Some(s) if s.eq_ignore_ascii_case("collection") => proto::OptOutScope::Collection,
        Some(s) => return Err(format!("scope: `{s}` is not commercial or collection")),
    };
    Ok(Some(proto::OptOutRequest {
        msisdn: msisdn.to_owned(),
        enterprise_id: enterprise.to_owned(),
        scope: scope as i32,
        channel: proto::Channel::Import as i32,
        at: None,
    }))
}

/// Reads the file line by line on a blocking thread, sending each good line into `tx` (which
/// waits while the gRPC stream is behind). Stops early when the stream is gone. On a read error it
/// sends `None`, which keeps the request stream from ever ending normally: the RPC is then
/// cancelled, and the server does not commit the rows of its open batch.
fn read_opt_outs(
    path: &Path,
    file: std::fs::File,
    tx: mpsc::Sender<Option<proto::OptOutRequest>>,
) -> Result<ReadSummary, AdminError> {
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file);
    let mut summary = ReadSummary::default();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let n = match reader.read_until(b'\n', &mut buf) {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.blocking_send(None);
                return Err(AdminError::file(path)(e));
            }
        };
        if n == 0 {
            break;
        }
        line_no += 1;
        let Ok(mut line) = std::str::from_utf8(&buf) else {
            summary.reject(line_no, "not UTF-8".to_owned());
            continue;
        };
        if line_no == 1 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        match parse_opt_out_line(line) {
            Ok(None) => {}
            Ok(Some(request)) => {
                if tx.blocking_send(Some(request)).is_err() {
                    break; // the RPC ended (its error is reported by the caller)
                }
                summary.record_sent(line_no);
            }
            Err(reason) => summary.reject(line_no, reason),
        }
    }
    Ok(summary)
}

async fn optout_import(
    args: &OptoutImportArgs,
    out: &mut dyn Write,
) -> Result<Outcome, AdminError> {
    const RPC: &str = "Registry.ImportOptOuts";
    let file = std::fs::File::open(&args.file).map_err(AdminError::file(&args.file))?;
    let mut client = RegistryClient::new(connect(&args.target).await?);
    let (tx, rx) = mpsc::channel(IMPORT_QUEUE);
    let path = args.file.clone();
    let mut reader = tokio::task::spawn_blocking(move || read_opt_outs(&path, file, tx));
    let requests = futures::stream::unfold(rx, |mut rx| async move {
        match rx.recv().await {
            Some(Some(request)) => Some((request, rx)),
            Some(None) => std::future::pending().await,
            None => None,
        }
    });
    let mut rpc = Box::pin(client.import_opt_outs(requests));
    let joined = |r: Result<Result<ReadSummary, AdminError>, tokio::task::JoinError>| {
        r.map_err(|e| AdminError::File {
            path: args.file.clone(),
            source: std::io::Error::other(e.to_string()),
        })?
    };
    let (read, reply) = tokio::select! {
        r = &mut reader => (joined(r)?, rpc.await),
        reply = &mut rpc => {
            let reply = reply.map_err(AdminError::rpc(RPC))?;
            (joined(reader.await)?, Ok(reply))
        }
    };
    let summary = reply.map_err(AdminError::rpc(RPC))?.into_inner();

    let mut errors = read.errors.clone();
    let mut unmapped = Vec::new();
    for e in &summary.errors {
        match read.line_of(e.index) {
            Some(line) => errors.push(LineError {
                line,
                reason: e.reason.clone(),
            }),
            None => unmapped.push(format!("request {}: {}", e.index, e.reason)),
        }
    }
    errors.sort_by_key(|e| e.line);
    let rejected = read.local_rejected + summary.rejected;
    let w = |r: std::io::Result<()>| r.map_err(AdminError::Output);
    w(writeln!(
        out,
        "accepted {}, rejected {rejected}",
        summary.accepted
    ))?;
    for e in &errors {
        w(writeln!(out, "line {}: {}", e.line, e.reason))?;
    }
    for u in &unmapped {
        w(writeln!(out, "{u}"))?;
    }
    let listed = (errors.len() + unmapped.len()) as u64;
    if rejected > listed {
        w(writeln!(out, "... and {} more", rejected - listed))?;
    }
    Ok(if rejected == 0 {
        Outcome::Clean
    } else {
        Outcome::Finding
    })
}

// ---------------------------------------------------------------------------------------------
// throttle status | block | unblock

/// The columns of `throttle status`, in order (the table's header); JSON Lines objects use the same
/// keys, with `enterprise` null for the province as a whole, `manual` a boolean and
/// `complaint_rate` the fraction itself.
pub const THROTTLE_COLUMNS: [&str; 8] = [
    "province",
    "enterprise",
    "level",
    "manual",
    "complaint_rate",
    "messages",
    "complaints",
    "since",
];

fn level_name(raw: i32) -> Cell {
    enum_name(raw, "THROTTLE_LEVEL_", proto::ThrottleLevel::as_str_name)
}

fn throttle_cells(s: &proto::ThrottleState) -> [Cell; 8] {
    [
        Cell::Text(s.province.clone()),
        text(&s.enterprise_id),
        level_name(s.level),
        Cell::Bool(s.manual),
        Cell::Float(s.complaint_rate),
        Cell::Number(s.messages),
        Cell::Number(s.complaints),
        time(&s.since),
    ]
}

/// One table row for people: `*` for every enterprise, yes/no, the rate as a percentage.
fn throttle_row(cells: &[Cell; 8]) -> Vec<String> {
    cells
        .iter()
        .map(|cell| match cell {
            Cell::Null => "*".to_owned(),
            Cell::Text(s) => s.clone(),
            Cell::Number(n) => n.to_string(),
            Cell::Float(rate) => format!("{:.4}%", rate * 100.0),
            Cell::Bool(b) => (if *b { "yes" } else { "no" }).to_owned(),
            Cell::List(items) => items.join(";"),
        })
        .collect()
}

/// Terminal columns a string takes: CJK and full-width characters take two.
fn display_width(s: &str) -> usize {
    s.chars()
        .map(|c| match u32::from(c) {
            0x1100..=0x115F
            | 0x2E80..=0x303E
            | 0x3041..=0xA4CF
            | 0xAC00..=0xD7A3
            | 0xF900..=0xFAFF
            | 0xFE30..=0xFE4F
            | 0xFF00..=0xFF60
            | 0xFFE0..=0xFFE6
            | 0x20000..=0x3FFFD => 2,
            _ => 1,
        })
        .sum()
}

/// Left-aligned columns two spaces apart, the header first; no trailing spaces.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| display_width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(display_width(cell));
        }
    }
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    let mut text = String::new();
    for row in std::iter::once(&header).chain(rows) {
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            if i + 1 < row.len() {
                text.push_str(&" ".repeat(w.saturating_sub(display_width(cell))));
            }
        }
        text.push('\n');
    }
    text
}

async fn throttle_status(
    args: &ThrottleStatusArgs,
    out: &mut dyn Write,
) -> Result<Outcome, AdminError> {
    let mut client = OperationsClient::new(connect(&args.target).await?);
    let request = proto::ListThrottlesRequest {
        province: args.province.clone().unwrap_or_default(),
        enterprise_id: args.enterprise.clone().unwrap_or_default(),
    };
    let mut states = client
        .list_throttles(request)
        .await
        .map_err(AdminError::rpc("Operations.ListThrottles"))?
        .into_inner()
        .states;
    states.sort_by(|a, b| {
        (&a.province, &a.enterprise_id, a.manual).cmp(&(&b.province, &b.enterprise_id, b.manual))
    });
    let text = match args.format {
        StatusFormat::Table if states.is_empty() => "no region above NORMAL\n".to_owned(),
        StatusFormat::Table => {
            let rows: Vec<Vec<String>> = states
                .iter()
                .map(|s| throttle_row(&throttle_cells(s)))
                .collect();
            table(&THROTTLE_COLUMNS, &rows)
        }
        StatusFormat::Jsonl => states
            .iter()
            .map(|s| json_line(&THROTTLE_COLUMNS, &throttle_cells(s)) + "\n")
            .collect(),
    };
    out.write_all(text.as_bytes()).map_err(AdminError::Output)?;
    Ok(Outcome::Clean)
}

fn category_to_proto(c: BlockCategory) -> proto::Category {
    match c {
        BlockCategory::Marketing => proto::Category::Marketing,
        BlockCategory::LoanMarketing => proto::Category::LoanMarketing,
        BlockCategory::Collection => proto::Category::Collection,
        BlockCategory::Service => proto::Category::Service,
        BlockCategory::Verification => proto::Category::Verification,
    }
}

/// `blocked 广东 for ent-jd (MARKETING, LOAN_MARKETING) by ops-li since T: REASON`.
fn describe_block(state: &proto::RegionBlockState) -> String {
    let b = state.block.clone().unwrap_or_default();
    let who = if b.enterprise_id.is_empty() {
        "every enterprise"
    } else {
        &b.enterprise_id
    };
    let categories: Vec<String> = b
        .categories
        .iter()
        .map(|&c| enum_str(c, "CATEGORY_", proto::Category::as_str_name))
        .collect();
    let verb = if state.blocked {
        "blocked"
    } else {
        "unblocked"
    };
    let mut line = format!(
        "{verb} {} for {who} ({}) by {}",
        b.province,
        categories.join(", "),
        b.operator
    );
    if let Some(since) = &state.since {
        line.push_str(" since ");
        line.push_str(&rfc3339(since));
    }
    if !b.reason.is_empty() {
        line.push_str(": ");
        line.push_str(&b.reason);
    }
    line
}

/// `throttle block` (`block`) or `throttle unblock`: one Operations call, its state printed.
async fn region_block(
    args: &RegionBlockArgs,
    reason: Option<&str>,
    block: bool,
    out: &mut dyn Write,
) -> Result<Outcome, AdminError> {
    let mut client = OperationsClient::new(connect(&args.target).await?);
    let request = proto::RegionBlock {
        province: args.province.clone(),
        enterprise_id: args.enterprise.clone().unwrap_or_default(),
        categories: args
            .categories
            .iter()
            .map(|&c| category_to_proto(c) as i32)
            .collect(),
        reason: reason.unwrap_or_default().to_owned(),
        operator: args.operator.clone(),
    };
    let state = if block {
        let reply = client.block_region(request).await;
        reply.map_err(AdminError::rpc("Operations.BlockRegion"))?
    } else {
        let reply = client.unblock_region(request).await;
        reply.map_err(AdminError::rpc("Operations.UnblockRegion"))?
    };
    writeln!(out, "{}", describe_block(&state.into_inner())).map_err(AdminError::Output)?;
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("form-1"), "form-1");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }

    #[test]
    fn opt_out_lines_parse_whitespace_tolerantly() {
        assert_eq!(parse_opt_out_line("  "), Ok(None));
        assert_eq!(parse_opt_out_line("# comment"), Ok(None));
        let r = parse_opt_out_line(" 13800138000 , ent-jd , Collection \r\n")
            .unwrap()
            .unwrap();
        assert_eq!(r.msisdn, "13800138000");
        assert_eq!(r.enterprise_id, "ent-jd");
        assert_eq!(r.scope(), proto::OptOutScope::Collection);
        assert_eq!(r.channel(), proto::Channel::Import);
        let r = parse_opt_out_line("13800138000").unwrap().unwrap();
        assert_eq!(r.enterprise_id, "");
        assert_eq!(r.scope(), proto::OptOutScope::Commercial);
        assert!(parse_opt_out_line("13800138000,ent,marketing").is_err());
        assert!(parse_opt_out_line("1,2,commercial,4").is_err());
        assert!(parse_opt_out_line(",ent-jd").is_err());
    }

    #[test]
    fn stream_indexes_map_back_to_file_lines() {
        let mut s = ReadSummary::default();
        // lines 1, 2 sent; 3 skipped; 4 sent; 5, 6 skipped; 7, 8 sent
        for line in [1, 2, 4, 7, 8] {
            s.record_sent(line);
        }
        let lines: Vec<_> = (0..5).map(|i| s.line_of(i)).collect();
        assert_eq!(lines, [Some(1), Some(2), Some(4), Some(7), Some(8)]);
        assert_eq!(s.breaks.len(), 3);
    }

    #[test]
    fn json_lines_keep_the_column_order() {
        let event = proto::ConsentEvent {
            seq: 3,
            kind: ConsentEventKind::OptedOut as i32,
            opt_out: Some(proto::OptOutRecord {
                msisdn: "13800138000".into(),
                scope: proto::OptOutScope::Commercial as i32,
                channel: proto::Channel::WebForm as i32,
                ..Default::default()
            }),
            hash: "ab".into(),
            ..Default::default()
        };
        let cells = event_cells(&event);
        let line = json_line(&CONSENT_COLUMNS, &cells);
        assert!(line.starts_with(
            "{\"seq\":3,\"kind\":\"OPTED_OUT\",\"at\":null,\"msisdn\":\"13800138000\""
        ));
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["channel"], "WEB_FORM");
        assert_eq!(v["opt_out_scope"], "COMMERCIAL");
        assert_eq!(
            csv_line(&cells),
            "3,OPTED_OUT,,13800138000,,,WEB_FORM,,,,,,,COMMERCIAL,,ab"
        );
    }

    #[test]
    fn decision_rows_name_reasons_without_prefix_and_leave_omitted_text_empty() {
        let record = proto::DecisionRecord {
            seq: 7,
            request: Some(proto::ScreenRequest {
                message_id: "m-1".into(),
                sender_port: "10690001234".into(),
                msisdn: "13800138000".into(),
                ..Default::default()
            }),
            decision: Some(proto::Decision {
                verdict: proto::Verdict::Reject as i32,
                reasons: vec![
                    proto::Reason {
                        code: proto::ReasonCode::ReasonNoConsent as i32,
                        detail: String::new(),
                    },
                    proto::Reason {
                        code: proto::ReasonCode::ReasonQuietHours as i32,
                        detail: "22:00".into(),
                    },
                ],
                category: proto::Category::Verification as i32,
                spam_score: 0.25,
                symbols: vec!["URL_SHORTENER".into(), "ALL_CAPS".into()],
                decision_id: "d-1".into(),
                smpp_status: 69,
                ..Default::default()
            }),
            hash: "ab".into(),
            ..Default::default()
        };
        let cells = decision_cells(&record);
        assert_eq!(
            csv_line(&cells),
            "7,,d-1,m-1,10690001234,13800138000,,REJECT,NO_CONSENT;QUIET_HOURS,VERIFICATION,0.25,\
             URL_SHORTENER;ALL_CAPS,,69,,ab"
        );
        let v: serde_json::Value =
            serde_json::from_str(&json_line(&DECISION_COLUMNS, &cells)).unwrap();
        assert_eq!(
            v["reasons"],
            serde_json::json!(["NO_CONSENT", "QUIET_HOURS"])
        );
        assert_eq!(v["spam_score"], 0.25);
        assert_eq!(v["text"], serde_json::Value::Null);
    }

    #[test]
    fn throttle_table_aligns_cjk_and_marks_every_enterprise() {
        let state = |province: &str, enterprise: &str, manual: bool| proto::ThrottleState {
            province: province.into(),
            enterprise_id: enterprise.into(),
            level: proto::ThrottleLevel::Warn as i32,
            complaint_rate: 0.000312,
            messages: 12000,
            complaints: 4,
            manual,
            since: Some(prost_types::Timestamp {
                seconds: 1_795_399_200,
                nanos: 0,
            }),
        };
        let rows: Vec<Vec<String>> = [state("广东", "ent-jd", true), state("内蒙古", "", false)]
            .iter()
            .map(|s| throttle_row(&throttle_cells(s)))
            .collect();
        assert_eq!(
            table(&THROTTLE_COLUMNS, &rows),
            "province  enterprise  level  manual  complaint_rate  messages  complaints  since\n\
             广东      ent-jd      WARN   yes     0.0312%         12000     4           2026-11-23T02:00:00Z\n\
             内蒙古    *           WARN   no      0.0312%         12000     4           2026-11-23T02:00:00Z\n"
        );
        let v: serde_json::Value = serde_json::from_str(&json_line(
            &THROTTLE_COLUMNS,
            &throttle_cells(&state("广东", "", false)),
        ))
        .unwrap();
        assert_eq!(v["enterprise"], serde_json::Value::Null);
        assert_eq!(v["manual"], false);
        assert_eq!(v["complaint_rate"], 0.000312);
    }

    #[test]
    fn block_states_read_as_a_sentence() {
        let state = proto::RegionBlockState {
            block: Some(proto::RegionBlock {
                province: "广东".into(),
                enterprise_id: String::new(),
                categories: vec![proto::Category::Marketing as i32],
                reason: String::new(),
                operator: "ops-li".into(),
            }),
            blocked: false,
            since: None,
        };
        assert_eq!(
            describe_block(&state),
            "unblocked 广东 for every enterprise (MARKETING) by ops-li"
        );
    }
}
