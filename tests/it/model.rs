//! The content model end to end: `train` is deterministic, `eval` reports API.md's shape with
//! numbers that hold on a small fixture, a corrupt model is refused (at start and on reload, where
//! the old one keeps serving), and the shipped model's flags name their reasons.

use std::process::Command;
use std::time::Duration;

use portcullis::proto::{ReasonCode, Verdict};

use crate::util::*;

fn portcullis(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .output()
        .expect("run portcullis")
}

/// `portcullis eval --json` of `model` on `data`, which must succeed: its one JSON object.
fn eval_json(model: &std::path::Path, data: &std::path::Path) -> serde_json::Value {
    let o = portcullis(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("one JSON object")
}

/// `train` on the fixture with small tables, `seed` and `extra` flags.
fn train_fixture(out: &std::path::Path, seed: &str, extra: &[&str]) -> std::process::Output {
    let data = repo_path("tests/it/fixtures/model_train.tsv");
    let mut args = vec![
        "train",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--seed",
        seed,
        "--bits",
        "16",
        "--head-bits",
        "14",
    ];
    args.extend_from_slice(extra);
    portcullis(&args)
}

fn train(out: &std::path::Path, seed: &str) {
    let o = train_fixture(out, seed, &[]);
    assert!(
        o.status.success(),
        "train failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `train --category-data FILE`: the file's port rows teach the category head only. A spam/ham
/// row there is refused with the file named; a port file is taken and recorded.
#[test]
fn category_only_data_takes_port_labels_and_refuses_spam_ham() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = repo_path("tests/it/fixtures/model_train.tsv");
    let ports = dir.path().join("ports.tsv");
    let all = std::fs::read_to_string(&fixture).unwrap();
    let port_rows: Vec<&str> = all
        .lines()
        .filter(|l| !l.starts_with("ham\t") && !l.starts_with("spam\t"))
        .collect();
    std::fs::write(&ports, port_rows.join("\n") + "\n").unwrap();
    let run = |category: &std::path::Path, out: &std::path::Path| {
        train_fixture(out, "1", &["--category-data", category.to_str().unwrap()])
    };
    let refused = run(&fixture, &dir.path().join("bad.pcm"));
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("--category-data") && err.contains("model_train.tsv"),
        "{err}"
    );
    let (with, without) = (dir.path().join("with.pcm"), dir.path().join("without.pcm"));
    let o = run(&ports, &with);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    train(&without, "1");
    assert_ne!(
        std::fs::read(&with).unwrap(),
        std::fs::read(&without).unwrap()
    );
}

#[test]
fn training_is_deterministic_and_eval_reports_the_fixture_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.pcm"),
        dir.path().join("b.pcm"),
        dir.path().join("c.pcm"),
    );
    train(&a, "7");
    train(&b, "7");
    train(&c, "8");
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap(), "same seed, other bytes");
    assert_ne!(
        bytes,
        std::fs::read(&c).unwrap(),
        "the seed changes nothing"
    );

    let eval = |file: &str| eval_json(&a, &repo_path(file));
    // Port categories: scored in their own 7-label space.
    let port = eval("tests/it/fixtures/model_eval_port.tsv");
    let classes = port["classes"].as_object().unwrap();
    assert_eq!(classes.len(), 7, "{port}");
    for (label, c) in classes {
        for key in ["precision", "recall", "f1", "support"] {
            assert!(c[key].is_number(), "{label}.{key} missing: {port}");
        }
        assert_eq!(c["support"], 12, "{label}");
    }
    let macro_f1 = port["macro_f1"].as_f64().unwrap();
    let accuracy = port["accuracy"].as_f64().unwrap();
    // Observed 0.80 / 0.81 on this fixture with this seed; a broken trainer falls to ~0.14.
    assert!(macro_f1 > 0.70, "port macro_f1 {macro_f1}");
    assert!(accuracy > 0.70, "port accuracy {accuracy}");
    let mean_f1: f64 = classes
        .values()
        .map(|c| c["f1"].as_f64().unwrap())
        .sum::<f64>()
        / 7.0;
    assert!((mean_f1 - macro_f1).abs() < 1e-9, "macro_f1 is the mean F1");

    // Spam/ham: only those two labels, though the model also learnt the categories.
    let sh = eval("tests/it/fixtures/model_eval_spam.tsv");
    let classes = sh["classes"].as_object().unwrap();
    assert_eq!(
        classes.keys().cloned().collect::<Vec<_>>(),
        vec!["ham".to_owned(), "spam".to_owned()]
    );
    assert_eq!(classes["spam"]["support"], 24);
    assert_eq!(classes["ham"]["support"], 48);
    assert!(sh["accuracy"].as_f64().unwrap() > 0.75, "{sh}");
}

#[test]
fn a_companded_model_with_cjk_spacing_is_deterministic_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let run = |out: &std::path::Path, extra: &[&str]| {
        let o = train_fixture(out, "7", extra);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let flags = ["--spam-power", "2", "--cjk-spacing"];
    let (a, b, plain) = (
        dir.path().join("a.pcm"),
        dir.path().join("b.pcm"),
        dir.path().join("plain.pcm"),
    );
    run(&a, &flags);
    run(&b, &flags);
    run(&plain, &[]);
    let bytes = std::fs::read(&a).unwrap();
    assert_eq!(bytes, std::fs::read(&b).unwrap(), "same seed, other bytes");
    assert_ne!(
        bytes,
        std::fs::read(&plain).unwrap(),
        "the flags change nothing"
    );
    let sh = eval_json(&a, &repo_path("tests/it/fixtures/model_eval_spam.tsv"));
    assert!(sh["accuracy"].as_f64().unwrap() > 0.75, "{sh}");
    // Out of range: refused with the flag's name.
    let o = train_fixture(&a, "7", &["--spam-power", "20"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--spam-power"));
}

#[test]
fn eval_names_the_line_of_a_label_the_model_never_learnt() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.pcm");
    train(&model, "1");
    let data = dir.path().join("d.tsv");
    std::fs::write(
        &data,
        "label\ttext\nspam\t恭喜中奖\nIL:Gambling\t百家乐注册送彩金\n",
    )
    .unwrap();
    let o = portcullis(&[
        "eval",
        "--model",
        model.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("d.tsv:3") && err.contains("IL:Gambling"),
        "{err}"
    );
}

#[test]
fn a_corrupt_or_truncated_model_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(repo_path("config/models/default.pcm")).unwrap();
    let truncated = dir.path().join("truncated.pcm");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let flipped = dir.path().join("flipped.pcm");
    let mut bytes = good.clone();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&flipped, &bytes).unwrap();
    for bad in [&truncated, &flipped] {
        let data = repo_path("tests/it/fixtures/model_eval_spam.tsv");
        let o = portcullis(&[
            "eval",
            "--model",
            bad.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("corrupt") || err.contains("truncated"),
            "{}: {err}",
            bad.display()
        );
        // The daemon refuses to start on it: exit 78 (EX_CONFIG), the key named.
        let config = dir.path().join("portcullis.toml");
        std::fs::write(
            &config,
            format!("[files]\nmodel = {:?}\n", bad.to_str().unwrap()),
        )
        .unwrap();
        let o = portcullis(&["check-config", "--config", config.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(78));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("files.model"), "{err}");
    }
}

/// The shipped model on the probe (`training/port_sms_probe.tsv`: port SMS written by a second
/// author, never trained on): the bound on legitimate traffic flagged, and the abuse it
/// catches (bounds a little under the numbers in docs/model-card.md, so a retrain that loses
/// ground fails here).
#[test]
fn the_shipped_model_lets_the_probes_legitimate_traffic_through_and_flags_its_abuse() {
    assert_probe("training/port_sms_probe.tsv", 437, 0.93, 0.93);
}

/// The second probe (`training/port_sms_probe2.tsv`, by two more authors: hard legitimate cases such
/// as police and bank warnings that quote scams, compensation notices, lottery results; newer scam
/// kinds). Used to find gaps since, like the first.
#[test]
fn the_shipped_model_lets_the_second_probes_legitimate_traffic_through_and_flags_its_abuse() {
    assert_probe("training/port_sms_probe2.tsv", 614, 0.88, 0.95);
}

/// The third probe (`training/port_sms_probe3.tsv`, two more authors: ten people's inboxes, and
/// the line between loud lawful promotions and polite signed abuse with an opt-out). Its abuse is
/// the hardest we have; the bounds keep today's numbers from slipping.
#[test]
fn the_shipped_model_lets_the_third_probes_legitimate_traffic_through_and_flags_its_abuse() {
    assert_probe("training/port_sms_probe3.tsv", 875, 0.75, 0.85);
}

/// `eval --errors` lists each miss with the spam head's own probability beside the served score,
/// so a reader sees what the port-governed discount took away.
#[test]
fn eval_errors_show_the_spam_heads_own_probability() {
    let dir = tempfile::tempdir().unwrap();
    let errors = dir.path().join("errors.tsv");
    let o = portcullis(&[
        "eval",
        "--model",
        repo_path("config/models/default.pcm").to_str().unwrap(),
        "--data",
        repo_path("training/port_sms_probe3.tsv").to_str().unwrap(),
        "--errors",
        errors.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let tsv = std::fs::read_to_string(&errors).unwrap();
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(header.last(), Some(&"spam_head"), "{header:?}");
    let (mut rows, mut discounted) = (0, 0);
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), header.len(), "{line}");
        let served: f32 = cols[5].parse().unwrap();
        let head: f32 = cols[8].parse().unwrap();
        assert!((0.0..=1.0).contains(&head), "{line}");
        rows += 1;
        discounted += usize::from(head > served + 0.01);
    }
    assert!(
        rows > 0 && discounted > 0,
        "{rows} rows, {discounted} discounted"
    );
}

/// The fourth probe (`training/port_sms_probe4.tsv`, two more authors: a carrier analyst's review
/// sample of dressed-up abuse, and county-level senders) is the one no model was trained on or
/// tuned with: the shipped model's first look at it is in docs/model-card.md.
#[test]
fn the_shipped_model_lets_the_fourth_probes_legitimate_traffic_through_and_flags_its_abuse() {
    assert_probe("training/port_sms_probe4.tsv", 692, 0.80, 0.94);
}

/// The fifth probe (`training/port_sms_probe5.tsv`, two more authors: sectors from hospitals to
/// brokerages, and the forms messages take: traditional script, mixed English, evasions) was looked
/// at once with the model shipped before it (docs/model-card.md, "The fifth probe"); its gaps were
/// fixed in the normalizer and the rules, never by training on it.
#[test]
fn the_shipped_model_lets_the_fifth_probes_legitimate_traffic_through_and_flags_its_abuse() {
    assert_probe("training/port_sms_probe5.tsv", 697, 0.90, 0.94);
}

/// The sixth probe (`training/port_sms_probe6.tsv`, two more authors: elderly and rural inboxes,
/// and the messages small businesses get) was written after every change above and looked at once
/// with the shipped model (docs/model-card.md, "The sixth probe": 0.43% / 77% / 80%); four rules
/// were written for its misses after that look. Its bounds guard, they do not claim.
#[test]
fn the_shipped_model_lets_the_sixth_probes_legitimate_traffic_through_and_flags_its_abuse() {
    assert_probe("training/port_sms_probe6.tsv", 693, 0.77, 0.83);
}

/// The seventh probe (`training/port_sms_probe7.tsv`: students and gig workers, families; its
/// authors were asked for signed scams with no channel) was looked at once with the shipped model
/// (docs/model-card.md, "The seventh probe": 0.15% / 67.5% / 78.2%); illegal vocabulary was added
/// after that look (85.5% since).
#[test]
fn the_shipped_model_lets_the_seventh_probes_legitimate_traffic_through_and_flags_its_abuse() {
    assert_probe("training/port_sms_probe7.tsv", 682, 0.64, 0.82);
}

/// `file`'s legitimate rows (`legit_rows` of them) are at most 1% flagged; at least `fraud` of its
/// FRAUD_SUSPECT rows and `illegal` of its ILLEGAL rows are.
fn assert_probe(file: &str, legit_rows: usize, fraud: f64, illegal: f64) {
    let report = eval_json(&repo_path("config/models/default.pcm"), &repo_path(file));
    let flagged = |label: &str| report["flagged"][label].as_f64().unwrap();
    let support = |label: &str| report["classes"][label]["support"].as_f64().unwrap();
    let legit = [
        "VERIFICATION",
        "SERVICE",
        "MARKETING",
        "LOAN_MARKETING",
        "COLLECTION",
    ];
    let rows: f64 = legit.iter().map(|l| support(l)).sum();
    let wrongly: f64 = legit.iter().map(|l| flagged(l) * support(l)).sum();
    assert_eq!(rows, legit_rows as f64);
    assert!(
        wrongly / rows <= 0.01,
        "{file}: {wrongly} of {rows} legitimate rows flagged: {}",
        report["flagged"]
    );
    assert!(
        flagged("FRAUD_SUSPECT") >= fraud,
        "{file}: {}",
        report["flagged"]
    );
    assert!(
        flagged("ILLEGAL") >= illegal,
        "{file}: {}",
        report["flagged"]
    );
}

/// A fraud text the shipped model flags, and the explanation it carries.
const FRAUD: &str = "【招商银行】您的账户存在异常已被冻结，请立即点击 http://cmb-safe.top/v 验证身份解除限制，逾期将影响征信";

#[tokio::test]
async fn a_bad_model_on_reload_is_refused_and_the_old_model_keeps_serving() {
    let models = tempfile::tempdir().unwrap();
    let path = models.path().join("model.pcm");
    std::fs::copy(repo_path("config/models/default.pcm"), &path).unwrap();
    let d = TestDaemon::start_with(DaemonOptions {
        config: Some(format!("[files]\nmodel = {:?}\n", path.to_str().unwrap())),
        ..Default::default()
    })
    .await;
    let flagged = |dec: &portcullis::proto::Decision| {
        dec.symbols.iter().any(|s| s.starts_with("MODEL_"))
            && dec.symbols.iter().any(|s| s.starts_with("NGRAM:"))
    };
    let before = d.screen(request(CMB, "13800138000", FRAUD)).await;
    assert_eq!(before.verdict(), Verdict::Reject, "{before:?}");
    assert!(flagged(&before), "no model symbols: {:?}", before.symbols);
    assert!(
        before
            .reasons
            .iter()
            .any(|r| r.code() == ReasonCode::ReasonFraudSuspect
                || r.code() == ReasonCode::ReasonSpamContent),
        "{before:?}"
    );

    let reloads = "portcullis_config_reloads_total";
    let errors_before = metric_value(&d.scrape().await, reloads, &["result=\"error\""]);
    std::fs::write(&path, b"not a model").unwrap();
    let mut seen = false;
    for _ in 0..100 {
        if metric_value(&d.scrape().await, reloads, &["result=\"error\""]) > errors_before {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen, "the broken model was not noticed");
    let after = d.screen(request(CMB, "13900139000", FRAUD)).await;
    assert!(flagged(&after), "the old model stopped serving: {after:?}");
    d.stop().await;
}

/// One loan campaign, sent with small variations (brand, amount, link, wording) from many ports.
const CAMPAIGN: [&str; 3] = [
    "尊敬的客户，您已获得最高50000元信用额度，日息低至0.02%，当天放款，点击 http://t.cn/A6x9 立即领取",
    "尊敬的用户，您已获得最高80000元信用额度，日息低至0.03%，当天放款，点击 http://dwz.cn/k2P 立即领取",
    "尊敬的客户:您已获得最高30000元信用额度,日息低至0.02%,当日放款,点击 http://t.cn/Zz1 马上领取",
];

#[tokio::test]
async fn complaints_attach_to_the_campaign_and_its_variants_are_marked_across_a_restart() {
    use portcullis::proto::complaints_client::ComplaintsClient;
    let data = tempfile::tempdir().unwrap();
    let options = || DaemonOptions {
        data_dir: Some(data.path().to_owned()),
        ..Default::default()
    };
    let d = TestDaemon::start_with(options()).await;
    let fuzzy =
        |dec: &portcullis::proto::Decision| dec.symbols.iter().any(|s| s == "FUZZY_COMPLAINED");
    let channel = d.channel().await;
    let mut complaints = ComplaintsClient::new(channel);
    // Three subscribers complain about the first variant, each naming the message they got.
    for i in 0..3u32 {
        let msisdn = format!("1380013{:04}", 100 + i);
        let mut req = request(LOAN, &msisdn, CAMPAIGN[0]);
        req.message_id = format!("m-{i}");
        let first = d.screen(req).await;
        assert!(!fuzzy(&first), "marked before any complaint: {first:?}");
        complaints
            .report(portcullis::proto::Complaint {
                msisdn,
                sender_port: LOAN.into(),
                source: "12321".into(),
                message_id: format!("m-{i}"),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    // Another variant, from another port, is recognised as the same campaign...
    let variant = d.screen(request(CMB, "13900139001", CAMPAIGN[1])).await;
    assert!(fuzzy(&variant), "variant not marked: {:?}", variant.symbols);
    // ... and an unrelated message is not.
    let other = d
        .screen(request(
            SF,
            "13900139002",
            "【顺丰速运】您的快件已到达丰巢柜，取件码582913，请于24小时内取件。",
        ))
        .await;
    assert!(!fuzzy(&other), "{other:?}");
    d.stop().await;

    // The counts come back from the store.
    let d = TestDaemon::start_with(options()).await;
    let after = d.screen(request(JD, "13900139003", CAMPAIGN[2])).await;
    assert!(
        fuzzy(&after),
        "lost across the restart: {:?}",
        after.symbols
    );
    d.stop().await;
}

/// Operations.Feedback stores a correction with the decided text; it survives `kill -9`, and
/// `train --feedback` takes it from a running daemon and from a stopped one's data dir.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_is_stored_durably_and_train_includes_it() {
    use portcullis::proto::operations_client::OperationsClient;
    use portcullis::proto::screening_client::ScreeningClient;
    use portcullis::proto::{Category, FeedbackRequest};

    let data = tempfile::tempdir().unwrap();
    let daemon = DaemonProcess::spawn(data.path());
    let channel = daemon.channel().await;
    let mut ops = OperationsClient::new(channel.clone());
    let text = "【鑫利达】店庆全场五折，进店即送好礼，详询4008123456，回T退订";
    let decision = ScreeningClient::new(channel.clone())
        .screen(request(LOAN, "13800138000", text))
        .await
        .unwrap()
        .into_inner();
    let correction = |decision_id: &str, operator: &str| FeedbackRequest {
        decision_id: decision_id.into(),
        category: Category::Marketing as i32,
        spam: true,
        note: "customers complain about it".into(),
        operator: operator.into(),
    };

    let code = |r: Result<tonic::Response<_>, tonic::Status>| r.map(|_| ()).unwrap_err().code();
    let bad = ops.feedback(correction("not-an-id", "ops-li")).await;
    assert_eq!(code(bad), tonic::Code::InvalidArgument);
    let unnamed = ops.feedback(correction(&decision.decision_id, " ")).await;
    assert_eq!(code(unnamed), tonic::Code::InvalidArgument);
    let unknown = ops
        .feedback(correction(&uuid::Uuid::now_v7().to_string(), "ops-li"))
        .await;
    assert_eq!(code(unknown), tonic::Code::NotFound);

    // The decision reaches the audit trail within the writer's flush interval.
    let mut ack = None;
    for _ in 0..100 {
        match ops
            .feedback(correction(&decision.decision_id, "ops-li"))
            .await
        {
            Ok(a) => {
                ack = Some(a.into_inner());
                break;
            }
            Err(s) if s.code() == tonic::Code::NotFound => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    }
    let ack = ack.expect("the decision never reached the audit trail");
    assert!(ack.feedback_id.starts_with("fbk-"), "{ack:?}");

    let model = data.path().join("with-feedback.pcm");
    let fixture = repo_path("tests/it/fixtures/model_train.tsv");
    let train_with = |source: &[&str]| {
        let mut args = vec![
            "train",
            "--data",
            fixture.to_str().unwrap(),
            "--out",
            model.to_str().unwrap(),
            "--bits",
            "16",
            "--head-bits",
            "14",
            "--feedback",
        ];
        args.extend_from_slice(source);
        let o = portcullis(&args);
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{stderr}");
        stderr
    };
    let target = daemon.grpc_addr.to_string();
    // The daemon is another process: blocking this test thread on `train` is harmless.
    let live = train_with(&["--target", &target]);
    assert!(live.contains("1 operator corrections included"), "{live}");

    daemon.kill9();
    let stopped = train_with(&["--data-dir", data.path().to_str().unwrap()]);
    assert!(
        stopped.contains("1 operator corrections included"),
        "{stopped}"
    );
    // A correction without a daemon to read from is an error, not a silent model without it.
    let o = portcullis(&[
        "train",
        "--data",
        fixture.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
        "--feedback",
        "--data-dir",
        "/nonexistent/portcullis",
    ]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--data-dir"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
