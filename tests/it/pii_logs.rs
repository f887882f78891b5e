//! PIPL (RULES.md "msisdn in logs"): the daemon's log never carries a subscriber's full number —
//! not at info, not at debug, not when the number is malformed and quoted by an error.

use std::time::Duration;

use portcullis::proto::complaints_client::ComplaintsClient;
use portcullis::proto::compliance_client::ComplianceClient;
use portcullis::proto::registry_client::RegistryClient;
use portcullis::proto::screening_client::ScreeningClient;
use portcullis::proto::{self, ScreenRequest};

use crate::util::*;

const MARKETING_JD: &str = "【京东】双11狂欢返场，家电低至5折，满300减50，领券 jd.com/sale 退订回T";
const CODE_JD: &str = "【京东】验证码：552901，用于登录京东账号，5分钟内有效。";

/// Well-formed numbers, each driven through a different path.
const CONSENTED: &str = "13812345678";
const OPTED_OUT: &str = "13987654321";
const COMPLAINED: &str = "15011112222";
const REPLIED: &str = "18600001111";
const NO_CONSENT_TO_REVOKE: &str = "17722223333";
const ERASED: &str = "13633334444";
/// Malformed numbers as a gateway or an operator might send them: typos of real numbers.
const MALFORMED: [&str; 5] = [
    "1381234567x",
    "138123456789",
    "+44 7700 900123",
    "1371234567y",
    "19912345",
];

fn screen_req(id: &str, msisdn: &str, text: &str) -> ScreenRequest {
    ScreenRequest {
        message_id: id.into(),
        ..request(JD, msisdn, text)
    }
}

async fn drive(d: &DaemonProcess) {
    let channel = d.channel().await;
    let mut screening = ScreeningClient::new(channel.clone());
    let mut registry = RegistryClient::new(channel.clone());
    let mut complaints = ComplaintsClient::new(channel.clone());
    let mut compliance = ComplianceClient::new(channel);

    registry
        .record_consent(proto::RecordConsentRequest {
            msisdn: format!("+86{CONSENTED}"),
            enterprise_id: "ent-jd".into(),
            evidence_ref: "form-1".into(),
            evidence_sha256: proof_hash(1),
            ..Default::default()
        })
        .await
        .unwrap();
    registry
        .opt_out(proto::OptOutRequest {
            msisdn: OPTED_OUT.into(),
            enterprise_id: "ent-jd".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    registry
        .handle_reply(proto::MoReply {
            msisdn: REPLIED.into(),
            sender_port: JD.into(),
            text: "TD".into(),
            received_at: None,
        })
        .await
        .unwrap();
    complaints
        .report(proto::Complaint {
            msisdn: COMPLAINED.into(),
            sender_port: JD.into(),
            source: "12321".into(),
            text: "又发广告".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let missing = registry
        .revoke_consent(proto::RevokeConsentRequest {
            msisdn: NO_CONSENT_TO_REVOKE.into(),
            enterprise_id: "ent-jd".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);
    compliance
        .request_erasure(proto::ErasureRequest {
            msisdn: ERASED.into(),
            reason: "subscriber asked".into(),
            operator: "ops-1".into(),
        })
        .await
        .unwrap();

    for (i, m) in [CONSENTED, OPTED_OUT, COMPLAINED, REPLIED, ERASED]
        .into_iter()
        .enumerate()
    {
        screening
            .screen(screen_req(&format!("pii-m-{i}"), m, MARKETING_JD))
            .await
            .unwrap();
        screening
            .screen(screen_req(&format!("pii-c-{i}"), m, CODE_JD))
            .await
            .unwrap();
    }
    for (i, bad) in MALFORMED.into_iter().enumerate() {
        // On gRPC a malformed msisdn is INVALID_ARGUMENT naming the field (on Kafka, a REJECT).
        let refused = screening
            .screen(screen_req(&format!("pii-bad-{i}"), bad, MARKETING_JD))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), tonic::Code::InvalidArgument);
        assert!(
            !refused.message().contains(bad),
            "the status echoes {bad}: {refused:?}"
        );
        let refused = registry
            .opt_out(proto::OptOutRequest {
                msisdn: bad.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(
            !refused.message().contains(bad),
            "the status echoes {bad}: {refused:?}"
        );
        compliance
            .decisions(proto::DecisionQuery {
                msisdn: bad.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
    }
    let summary = registry
        .import_opt_outs(tokio_stream::iter(
            MALFORMED
                .iter()
                .chain(&[OPTED_OUT])
                .map(|m| proto::OptOutRequest {
                    msisdn: (*m).into(),
                    ..Default::default()
                })
                .collect::<Vec<_>>(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.accepted, 1, "{summary:?}");
    for m in [CONSENTED, OPTED_OUT, COMPLAINED, REPLIED, ERASED] {
        let mut history = compliance
            .consent_history(proto::ConsentQuery {
                msisdn: m.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        while history.message().await.unwrap().is_some() {}
        let mut decisions = compliance
            .decisions(proto::DecisionQuery {
                msisdn: m.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        while decisions.message().await.unwrap().is_some() {}
    }
}

/// The daemon's whole log after a graceful stop.
async fn stop_and_collect(d: DaemonProcess) -> Vec<String> {
    let log = std::sync::Arc::clone(&d.log);
    assert!(d.terminate().success());
    // The reader thread may still be draining the pipe.
    for _ in 0..100 {
        if log.lock().unwrap().iter().any(|l| l.contains("stopped")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    log.lock().unwrap().clone()
}

async fn no_full_msisdn_at(level: &str) {
    let data = tempfile::tempdir().unwrap();
    // A short grace period: the test's idle client connection would otherwise hold the stop 10 s.
    let config = data.path().join("portcullis.toml");
    std::fs::write(&config, "[server]\ngrace_period_secs = 1\n").unwrap();
    let config = config.display().to_string();
    let d = DaemonProcess::spawn_env(
        &data.path().join("data"),
        &["--config", &config],
        &[("RUST_LOG", level)],
    );
    drive(&d).await;
    let log = stop_and_collect(d).await;
    assert!(
        log.iter().any(|l| l.contains("stopped")),
        "the log was captured: {log:?}"
    );
    // The embedded default runs open, and says so at start.
    assert!(
        log.iter()
            .any(|l| l.contains("WARN") && l.contains("access control is off")),
        "no warning that the API is open: {log:?}"
    );
    let mut secrets: Vec<String> = [
        CONSENTED,
        OPTED_OUT,
        COMPLAINED,
        REPLIED,
        NO_CONSENT_TO_REVOKE,
        ERASED,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    secrets.extend(MALFORMED.iter().map(|s| (*s).to_owned()));
    // The digits of a malformed number with its separators dropped, too.
    secrets.push("447700900123".to_owned());
    for line in &log {
        for s in &secrets {
            assert!(
                !line.contains(s.as_str()),
                "RUST_LOG={level}: the log carries {s}: {line}"
            );
        }
    }
}

#[tokio::test]
async fn no_full_msisdn_reaches_the_log_at_info() {
    no_full_msisdn_at("info").await;
}

#[tokio::test]
async fn no_full_msisdn_reaches_the_log_at_debug() {
    no_full_msisdn_at("debug").await;
}
