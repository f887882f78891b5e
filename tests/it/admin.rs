//! The operator commands as operators run them: the real binary against an in-process daemon
//! (`--target`) and against a copy of its data dir (`--data-dir`).

use std::path::Path;
use std::process::{Command, Output};

use portcullis::proto::registry_client::RegistryClient;
use portcullis::proto::{
    Category, Channel, OptOutRequest, OptOutScope, ReasonCode, RecordConsentRequest, Verdict,
};
use portcullis::store::audit::Head;

use crate::util::*;

const SUB: &str = "13800138000";
const MARKETING_JD: &str = "【京东】双11狂欢返场，家电低至5折，满300减50，领券 jd.com/sale 退订回T";
const MARKETING_JD_VIP: &str = "【京东】会员日全场满199减30，领券 jd.com/vip 退订回T";
/// A verification code under another bank's signature: refused, so audited, but never its text.
const FOREIGN_CODE: &str = "【工商银行】您的验证码是883921，请勿泄露。";
const EVIDENCE: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

/// Runs the binary on a blocking thread, so the in-process daemon keeps serving meanwhile.
async fn portcullis<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(args);
    tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn explain(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Exit 0 and one JSON Lines object on stdout.
fn json_of(o: &Output) -> serde_json::Value {
    assert_eq!(o.status.code(), Some(0), "{}", explain(o));
    serde_json::from_str(stdout(o).trim()).unwrap_or_else(|e| panic!("{e}: {}", explain(o)))
}

async fn registry(d: &TestDaemon) -> RegistryClient<tonic::transport::Channel> {
    RegistryClient::connect(format!("http://{}", d.grpc_addr))
        .await
        .unwrap()
}

async fn record_consent(d: &TestDaemon, msisdn: &str, enterprise: &str, evidence_ref: &str) {
    registry(d)
        .await
        .record_consent(RecordConsentRequest {
            msisdn: msisdn.into(),
            enterprise_id: enterprise.into(),
            channel: Channel::WebForm as i32,
            evidence_ref: evidence_ref.into(),
            evidence_sha256: EVIDENCE.into(),
            scope: vec![Category::Marketing as i32],
            ..Default::default()
        })
        .await
        .unwrap();
}

async fn opt_out(d: &TestDaemon, msisdn: &str, enterprise: &str) {
    registry(d)
        .await
        .opt_out(OptOutRequest {
            msisdn: msisdn.into(),
            enterprise_id: enterprise.into(),
            scope: OptOutScope::Commercial as i32,
            channel: Channel::SmsReply as i32,
            at: None,
        })
        .await
        .unwrap();
}

fn path_arg(p: &Path) -> String {
    p.to_str().unwrap().to_owned()
}

fn read_jsonl(file: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `portcullis WHAT export --target TARGET --msisdn SUB --out FILE`.
async fn export(what: &str, target: &str, file: &Path) -> Output {
    portcullis([
        what,
        "export",
        "--target",
        target,
        "--msisdn",
        SUB,
        "--out",
        &path_arg(file),
    ])
    .await
}

#[tokio::test]
async fn consent_export_writes_csv_and_jsonl_oldest_first() {
    let d = TestDaemon::start().await;
    record_consent(&d, SUB, "ent-jd", "form-1").await;
    opt_out(&d, SUB, "ent-jd").await;
    let target = d.grpc_addr.to_string();
    let tmp = tempfile::tempdir().unwrap();

    let csv = tmp.path().join("history.csv");
    let out = export("consent", &target, &csv).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2 event"),
        "{}",
        explain(&out)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(
        rows[0].join(","),
        "seq,kind,at,msisdn,enterprise_id,consent_id,channel,evidence_ref,evidence_sha256,scope,\
         granted_at,revoked_at,expires_at,opt_out_scope,complaint_id,hash"
    );
    assert_eq!(rows.len(), 3, "{text}");
    let (granted, opted_out) = (&rows[1], &rows[2]);
    assert_eq!(granted.len(), 16, "{text}");
    assert_eq!(granted[1], "GRANTED");
    assert_eq!(granted[3], SUB);
    assert_eq!(granted[4], "ent-jd");
    assert!(!granted[5].is_empty(), "consent_id: {text}");
    assert_eq!(granted[6], "WEB_FORM");
    assert_eq!(granted[7], "form-1");
    assert_eq!(granted[8], EVIDENCE);
    assert_eq!(granted[9], "MARKETING");
    assert!(granted[10].parse::<jiff::Timestamp>().is_ok(), "{text}");
    assert_eq!(granted[15].len(), 64);
    assert_eq!(opted_out[1], "OPTED_OUT");
    assert_eq!(opted_out[6], "SMS_REPLY");
    assert_eq!(opted_out[13], "COMMERCIAL");
    assert!(
        granted[0].parse::<u64>().unwrap() < opted_out[0].parse::<u64>().unwrap(),
        "oldest first: {text}"
    );

    let jsonl = tmp.path().join("history.jsonl");
    let out = export("consent", &target, &jsonl).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let events = read_jsonl(&jsonl);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["kind"], "GRANTED");
    assert_eq!(events[0]["evidence_sha256"], EVIDENCE);
    assert_eq!(events[0]["scope"], serde_json::json!(["MARKETING"]));
    assert_eq!(events[1]["kind"], "OPTED_OUT");
    assert_eq!(events[1]["consent_id"], serde_json::Value::Null);
    assert!(
        !tmp.path().join("history.jsonl.partial").exists(),
        "the partial file is renamed"
    );

    // --to before everything: a header and nothing else.
    let out = portcullis([
        "consent",
        "query",
        "--target",
        &target,
        "--msisdn",
        SUB,
        "--to",
        "2020-01-01T00:00:00Z",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(stdout(&out).lines().count(), 1, "{}", explain(&out));
    d.stop().await;
}

#[tokio::test]
async fn consent_query_quotes_csv_fields_and_rejects_bad_times() {
    let d = TestDaemon::start().await;
    record_consent(&d, SUB, "ent-cmb", "scan 7, \"signed\"").await;
    let target = d.grpc_addr.to_string();
    let out = portcullis([
        "consent",
        "query",
        "--target",
        &target,
        "--enterprise",
        "ent-cmb",
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let text = stdout(&out);
    assert!(
        text.contains(",\"scan 7, \"\"signed\"\"\","),
        "{}",
        explain(&out)
    );

    let out = portcullis([
        "consent",
        "query",
        "--target",
        &target,
        "--msisdn",
        SUB,
        "--format",
        "jsonl",
        "--enterprise",
        "ent-cmb",
    ])
    .await;
    let v = json_of(&out);
    assert_eq!(v["evidence_ref"], "scan 7, \"signed\"");

    let out = portcullis(["consent", "query", "--msisdn", SUB, "--from", "yesterday"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--from"),
        "{}",
        explain(&out)
    );
    let out = portcullis(["consent", "query", "--target", &target]).await;
    assert_eq!(out.status.code(), Some(2), "one of --msisdn/--enterprise");
    d.stop().await;
}

/// Audit writes are queued: polls `decisions query` until it prints `rows` data lines.
async fn poll_decisions(target: &str, rows: usize) -> Output {
    for _ in 0..50 {
        let out = portcullis(["decisions", "query", "--target", target, "--msisdn", SUB]).await;
        assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
        if stdout(&out).lines().count() > rows {
            return out;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("fewer than {rows} decisions audited for {SUB}");
}

#[tokio::test]
async fn decisions_query_and_export_show_what_was_sent_without_verification_text() {
    let d = TestDaemon::start().await;
    let first = d.screen(request(JD, SUB, MARKETING_JD)).await;
    let second = d.screen(request(JD, SUB, MARKETING_JD_VIP)).await;
    let code = d.screen(request(CMB, SUB, FOREIGN_CODE)).await;
    for marketing in [&first, &second] {
        assert!(
            reasons(marketing).contains(&ReasonCode::ReasonNoConsent),
            "{marketing:?}"
        );
    }
    assert_eq!(code.category(), Category::Verification);
    let screened = [&first, &second, &code];
    let target = d.grpc_addr.to_string();

    let out = poll_decisions(&target, 3).await;
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "seq,decided_at,decision_id,message_id,sender_port,msisdn,enterprise_id,verdict,reasons,\
         category,spam_score,symbols,consent_id,smpp_status,text,hash"
    );
    assert_eq!(lines.len(), 4, "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("3 decision"),
        "{}",
        explain(&out)
    );
    // No field of these rows needs quoting, so a plain split is exact.
    let rows: Vec<Vec<&str>> = lines[1..].iter().map(|l| l.split(',').collect()).collect();
    let mut last_seq = 0;
    for (row, decision) in rows.iter().zip(screened) {
        assert_eq!(row.len(), 16, "{text}");
        let seq: u64 = row[0].parse().unwrap();
        assert!(seq > last_seq, "seq order: {text}");
        last_seq = seq;
        assert!(row[1].parse::<jiff::Timestamp>().is_ok(), "{text}");
        assert_eq!(row[2], decision.decision_id);
        assert_eq!(row[3], decision.message_id);
        assert_eq!(row[5], SUB);
        assert_eq!(row[15].len(), 64, "hash: {text}");
    }
    let (m, c) = (&rows[0], &rows[2]);
    assert_eq!(m[4], JD);
    assert_eq!(m[7], "REJECT");
    assert!(m[8].split(';').any(|r| r == "NO_CONSENT"), "{text}");
    assert_eq!(m[9], "MARKETING");
    assert_eq!(m[14], MARKETING_JD);
    assert_eq!(c[4], CMB);
    assert_eq!(c[9], "VERIFICATION");
    assert_eq!(c[14], "", "verification text: {text}");

    let tmp = tempfile::tempdir().unwrap();
    let jsonl = tmp.path().join("decisions.jsonl");
    let out = export("decisions", &target, &jsonl).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert!(!tmp.path().join("decisions.jsonl.partial").exists());
    let records = read_jsonl(&jsonl);
    assert_eq!(records.len(), 3);
    for (record, decision) in records.iter().zip(screened) {
        assert_eq!(record["decision_id"], decision.decision_id.as_str());
    }
    assert!(records[0]["seq"].as_u64() < records[1]["seq"].as_u64());
    assert!(
        records[0]["reasons"]
            .as_array()
            .unwrap()
            .contains(&"NO_CONSENT".into()),
        "{records:?}"
    );
    assert!(records[0]["symbols"].is_array());
    assert!(records[0]["spam_score"].is_number());
    assert_eq!(records[1]["text"], MARKETING_JD_VIP);
    assert_eq!(records[2]["text"], serde_json::Value::Null);

    // Narrowed to one message id and to a limit of one row.
    let out = portcullis([
        "decisions",
        "query",
        "--target",
        &target,
        "--message-id",
        &code.message_id,
        "--format",
        "jsonl",
    ])
    .await;
    let v = json_of(&out);
    assert_eq!(v["decision_id"], code.decision_id.as_str());
    let out = portcullis([
        "decisions",
        "query",
        "--target",
        &target,
        "--port",
        JD,
        "--limit",
        "1",
    ])
    .await;
    assert_eq!(stdout(&out).lines().count(), 2, "{}", explain(&out));

    // Usage errors exit 2: no filter, a bad time.
    let out = portcullis(["decisions", "query", "--target", &target]).await;
    assert_eq!(out.status.code(), Some(2), "one of the filters is required");
    let out = portcullis(["decisions", "query", "--msisdn", SUB, "--to", "soon"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    d.stop().await;
}

#[tokio::test]
async fn optout_import_reports_rejected_lines_by_line_number_and_applies_the_rest() {
    let d = TestDaemon::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("optouts.csv");
    std::fs::write(
        &file,
        "# opt-outs collected by the JD web form\n\
         13900139001,ent-jd\n\
         \x20 13900139002 , ent-jd , commercial \n\
         \n\
         13900139003,ent-jd,collection\n\
         12345,ent-jd\n\
         13900139004\n\
         13900139005,ent-jd,marketing\n\
         13900139006,ent-cmb,COMMERCIAL\n",
    )
    .unwrap();
    let out = portcullis([
        "optout",
        "import",
        "--target",
        &d.grpc_addr.to_string(),
        &path_arg(&file),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "accepted 5, rejected 2", "{}", explain(&out));
    assert_eq!(lines.len(), 3, "{}", explain(&out));
    assert!(
        // The line number finds the row; the number itself is masked (PIPL: it may be logged).
        lines[1].starts_with("line 6: msisdn:") && !lines[1].contains("12345"),
        "{}",
        explain(&out)
    );
    assert!(
        lines[2].starts_with("line 8: scope:") && lines[2].contains("marketing"),
        "{}",
        explain(&out)
    );

    // An imported number with a consent in force is still refused marketing: opted out wins.
    d.consent(
        "13900139002",
        "ent-jd",
        "c-1",
        &[portcullis::domain::Category::Marketing],
    );
    let decision = d.screen(request(JD, "13900139002", MARKETING_JD)).await;
    assert_eq!(decision.verdict(), Verdict::Reject, "{decision:?}");
    assert_eq!(reasons(&decision)[0], ReasonCode::ReasonOptedOut);
    // The carrier-level line (no enterprise) covers JD too.
    d.consent(
        "13900139004",
        "ent-jd",
        "c-2",
        &[portcullis::domain::Category::Marketing],
    );
    let decision = d.screen(request(JD, "13900139004", MARKETING_JD)).await;
    assert_eq!(reasons(&decision)[0], ReasonCode::ReasonOptedOut);

    // A clean file exits 0.
    std::fs::write(&file, "13900139007,ent-jd\n").unwrap();
    let out = portcullis([
        "optout",
        "import",
        "--target",
        &d.grpc_addr.to_string(),
        &path_arg(&file),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(stdout(&out).trim(), "accepted 1, rejected 0");
    d.stop().await;
}

#[tokio::test]
async fn audit_head_backup_and_offline_verify_agree() {
    let d = TestDaemon::start().await;
    record_consent(&d, SUB, "ent-jd", "form-1").await;
    opt_out(&d, SUB, "ent-jd").await;
    opt_out(&d, "13900139001", "").await;
    let target = d.grpc_addr.to_string();

    let out = portcullis(["audit", "head", "--target", &target]).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let first = Head::parse(stdout(&out).trim()).expect("SEQ:HASH");
    assert!(first.seq >= 3, "{first}");

    let out = portcullis(["audit", "verify", "--target", &target]).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    // Each VerifyAudit is itself audited: this one's head is one record past `audit head`'s.
    let head = stdout(&out)
        .trim()
        .rsplit("head ")
        .next()
        .and_then(Head::parse)
        .unwrap_or_else(|| panic!("{}", explain(&out)));
    assert_eq!(head.seq, first.seq + 1, "{}", explain(&out));

    // An online copy while the daemon runs, restored into a fresh data dir.
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("copy.db");
    let data = d.dir.path().join("data");
    let out = portcullis([
        "backup",
        "--data-dir",
        &path_arg(&data),
        "--out",
        &path_arg(&copy),
    ])
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert!(
        stdout(&out).contains(&head.to_string()),
        "{}",
        explain(&out)
    );
    d.stop().await;

    let restored = tmp.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::rename(&copy, restored.join("portcullis.db")).unwrap();
    let out = portcullis(["audit", "verify", "--data-dir", &path_arg(&restored)]).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(
        stdout(&out).trim(),
        format!("ok: {} records, head {head}", head.seq)
    );
    let out = portcullis(["audit", "head", "--data-dir", &path_arg(&restored)]).await;
    assert_eq!(stdout(&out).trim(), head.to_string());
    let out = portcullis([
        "audit",
        "verify",
        "--data-dir",
        &path_arg(&restored),
        "--expect-head",
        &format!("1:{}", "0".repeat(64)),
    ])
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", explain(&out));
    assert!(
        stdout(&out).starts_with("BROKEN at seq "),
        "{}",
        explain(&out)
    );

    let out = portcullis([
        "audit",
        "verify",
        "--data-dir",
        &path_arg(&restored),
        "--expect-head",
        "1:xyz",
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--expect-head"));
    let out = portcullis(["audit", "verify", "--data-dir", &path_arg(tmp.path())]).await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "no store: an error, not a break"
    );
}

#[tokio::test]
async fn backup_refuses_to_overwrite_an_existing_file() {
    let d = TestDaemon::start().await;
    opt_out(&d, SUB, "ent-jd").await;
    let tmp = tempfile::tempdir().unwrap();
    let existing = tmp.path().join("backup.db");
    std::fs::write(&existing, "keep me").unwrap();
    let out = portcullis([
        "backup",
        "--data-dir",
        &path_arg(&d.dir.path().join("data")),
        "--out",
        &path_arg(&existing),
    ])
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", explain(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        explain(&out)
    );
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    d.stop().await;
}

/// `portcullis throttle VERB --target TARGET --province PROVINCE --operator ops-li EXTRA...`.
async fn throttle(target: &str, verb: &str, province: &str, extra: &[&str]) -> Output {
    let head = [
        "throttle",
        verb,
        "--target",
        target,
        "--province",
        province,
        "--operator",
        "ops-li",
    ];
    portcullis(head.iter().chain(extra)).await
}

/// `portcullis throttle status --target TARGET EXTRA...`.
async fn throttle_status(target: &str, extra: &[&str]) -> Output {
    portcullis(
        ["throttle", "status", "--target", target]
            .iter()
            .chain(extra),
    )
    .await
}

/// Exit 0 and stdout starting with `prefix`.
fn assert_prints(out: &Output, prefix: &str) {
    assert_eq!(out.status.code(), Some(0), "{}", explain(out));
    assert!(stdout(out).starts_with(prefix), "{}", explain(out));
}

/// Exit 2 with `needle` on stderr.
fn assert_error(out: &Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{}", explain(out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(needle),
        "{}",
        explain(out)
    );
}

/// `throttle block|status|unblock` against the daemon, and what screening makes of the block.
#[tokio::test]
async fn throttle_block_shows_in_status_refuses_marketing_and_lifts() {
    let d = TestDaemon::start().await;
    let target = d.grpc_addr.to_string();
    const GUANGDONG_SUB: &str = "13005400000"; // 广东/深圳

    let out = throttle_status(&target, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    assert_eq!(stdout(&out).trim(), "no region above NORMAL");

    let out = throttle(
        &target,
        "block",
        "广东",
        &["--enterprise", "ent-jd", "--reason", "complaint spike"],
    )
    .await;
    assert_prints(
        &out,
        "blocked 广东 for ent-jd (MARKETING, LOAN_MARKETING) by ops-li since ",
    );
    assert!(
        stdout(&out).trim_end().ends_with(": complaint spike"),
        "{}",
        explain(&out)
    );

    let out = throttle_status(&target, &["--province", "广东"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", explain(&out));
    let text = stdout(&out);
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0].join(" "),
        "province enterprise level manual complaint_rate messages complaints since",
        "{text}"
    );
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(
        lines[1][..6],
        ["广东", "ent-jd", "BLOCKED", "yes", "0.0000%", "0"],
        "{text}"
    );
    assert!(lines[1][7].parse::<jiff::Timestamp>().is_ok(), "{text}");

    let out = throttle_status(&target, &["--enterprise", "ent-jd", "--format", "jsonl"]).await;
    let v = json_of(&out);
    assert_eq!(v["province"], "广东");
    assert_eq!(v["enterprise"], "ent-jd");
    assert_eq!(v["level"], "BLOCKED");
    assert_eq!(v["manual"], true);
    assert_eq!(v["complaint_rate"], 0.0);
    assert!(
        v["since"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .is_ok()
    );

    let marketing = d.screen(request(JD, GUANGDONG_SUB, MARKETING_JD)).await;
    assert!(
        reasons(&marketing).contains(&ReasonCode::ReasonRegionBlocked),
        "{marketing:?}"
    );
    // Another province is not blocked.
    let beijing = d.screen(request(JD, SUB, MARKETING_JD)).await;
    assert!(
        !reasons(&beijing).contains(&ReasonCode::ReasonRegionBlocked),
        "{beijing:?}"
    );

    // Lifting it: --reason is optional.
    let out = throttle(&target, "unblock", "广东", &["--enterprise", "ent-jd"]).await;
    assert_prints(
        &out,
        "unblocked 广东 for ent-jd (MARKETING, LOAN_MARKETING) by ops-li",
    );
    let out = throttle_status(&target, &[]).await;
    assert_eq!(
        stdout(&out).trim(),
        "no region above NORMAL",
        "{}",
        explain(&out)
    );
    let marketing = d.screen(request(JD, GUANGDONG_SUB, MARKETING_JD)).await;
    assert!(
        !reasons(&marketing).contains(&ReasonCode::ReasonRegionBlocked),
        "{marketing:?}"
    );

    // Nothing left to lift: the server's NOT_FOUND, exit 2.
    let out = throttle(&target, "unblock", "广东", &["--enterprise", "ent-jd"]).await;
    assert_error(&out, "no operator block");

    // An unknown province is the server's INVALID_ARGUMENT, naming it; a bad category is usage.
    let out = throttle(&target, "block", "火星", &["--reason", "test"]).await;
    assert_error(&out, "火星");
    let out = throttle(
        &target,
        "block",
        "广东",
        &["--reason", "x", "--category", "fraud"],
    )
    .await;
    assert_error(&out, "--category");

    // Categories are case-insensitive; the whole province shows as `*`.
    let out = throttle(
        &target,
        "block",
        "广东",
        &[
            "--category",
            "collection",
            "--category",
            "Loan_Marketing",
            "--reason",
            "drill",
        ],
    )
    .await;
    assert_prints(
        &out,
        "blocked 广东 for every enterprise (LOAN_MARKETING, COLLECTION)",
    );
    let out = throttle_status(&target, &[]).await;
    let text = stdout(&out);
    let row: Vec<&str> = text.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..4], ["广东", "*", "BLOCKED", "yes"], "{text}");
    d.stop().await;
}
