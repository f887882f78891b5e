//! Acknowledged writes survive `kill -9`: a real daemon process, SIGKILL, a restart on the same data
//! dir, and every acknowledged record is there and enforced by Screen.

use portcullis::proto::complaints_client::ComplaintsClient;
use portcullis::proto::compliance_client::ComplianceClient;
use portcullis::proto::registry_client::RegistryClient;
use portcullis::proto::screening_client::ScreeningClient;
use portcullis::proto::{self, ConsentEventKind, ReasonCode};

use crate::util::*;

const MARKETING_JD: &str = "【京东】双11狂欢返场，家电低至5折，满300减50，领券 jd.com/sale 退订回T";

fn consent_req(msisdn: &str, enterprise: &str, n: u32) -> proto::RecordConsentRequest {
    proto::RecordConsentRequest {
        msisdn: msisdn.into(),
        enterprise_id: enterprise.into(),
        channel: proto::Channel::WebForm as i32,
        evidence_ref: format!("form-{n}"),
        evidence_sha256: proof_hash(n),
        ..Default::default()
    }
}

#[tokio::test]
async fn acknowledged_writes_survive_kill_9_and_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = DaemonProcess::spawn(&data);
    let channel = first.channel().await;
    let mut registry = RegistryClient::new(channel.clone());
    let complaints = ComplaintsClient::new(channel.clone());

    // 40 concurrent writers: consents for 139..., opt-outs for 137..., complaints for 136...
    let mut tasks = Vec::new();
    for i in 0..40u32 {
        let mut registry = registry.clone();
        let mut complaints = complaints.clone();
        tasks.push(tokio::spawn(async move {
            let consent = registry
                .record_consent(consent_req(&format!("139{i:08}"), "ent-jd", i))
                .await
                .unwrap()
                .into_inner();
            registry
                .opt_out(proto::OptOutRequest {
                    msisdn: format!("137{i:08}"),
                    enterprise_id: "ent-jd".into(),
                    ..Default::default()
                })
                .await
                .unwrap();
            let ack = complaints
                .report(proto::Complaint {
                    msisdn: format!("136{i:08}"),
                    sender_port: JD.into(),
                    source: "12321".into(),
                    text: "天天发广告".into(),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(
                ack.opt_outs.len(),
                1,
                "a complaint opts out of commercial traffic"
            );
            consent.consent_id
        }));
    }
    let mut consent_ids = Vec::new();
    for t in tasks {
        consent_ids.push(t.await.unwrap());
    }
    // A revocation, acknowledged just before the crash.
    let revoked = registry
        .revoke_consent(proto::RevokeConsentRequest {
            msisdn: "13900000007".into(),
            enterprise_id: "ent-jd".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revoked.consent_id, consent_ids[7]);
    first.kill9();

    let second = DaemonProcess::spawn(&data);
    let channel = second.channel().await;
    let mut screening = ScreeningClient::new(channel.clone());
    for i in 0..40u32 {
        let screen = |msisdn: String, id: String| proto::ScreenRequest {
            message_id: id,
            sender_port: JD.into(),
            msisdn,
            text: MARKETING_JD.into(),
            dry_run: true,
            ..Default::default()
        };
        let consented = screening
            .screen(screen(format!("139{i:08}"), format!("c-{i}")))
            .await
            .unwrap()
            .into_inner();
        if i == 7 {
            assert!(
                consented.consent_id.is_empty(),
                "revoked consent still relied on: {consented:?}"
            );
            assert!(
                reasons(&consented).contains(&ReasonCode::ReasonNoConsent),
                "{consented:?}"
            );
        } else {
            assert_eq!(
                consented.consent_id, consent_ids[i as usize],
                "consent lost: {consented:?}"
            );
            assert!(
                !reasons(&consented).contains(&ReasonCode::ReasonNoConsent),
                "{consented:?}"
            );
        }
        let opted = screening
            .screen(screen(format!("137{i:08}"), format!("o-{i}")))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            reasons(&opted)[0],
            ReasonCode::ReasonOptedOut,
            "opt-out lost: {opted:?}"
        );
        let complained = screening
            .screen(screen(format!("136{i:08}"), format!("k-{i}")))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            reasons(&complained)[0],
            ReasonCode::ReasonOptedOut,
            "complaint opt-out lost: {complained:?}"
        );
    }
    let mut compliance = ComplianceClient::new(channel);
    let mut history = compliance
        .consent_history(proto::ConsentQuery {
            msisdn: "13600000003".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut kinds = Vec::new();
    while let Some(e) = history.message().await.unwrap() {
        kinds.push(e.kind());
        assert_eq!(e.hash.len(), 64);
    }
    assert_eq!(
        kinds,
        vec![ConsentEventKind::Complaint, ConsentEventKind::OptedOut]
    );
    let report = compliance
        .verify_audit(proto::VerifyAuditRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(report.ok, "{report:?}");
    // The writes, then this ConsentHistory and this VerifyAudit (each compliance query is audited).
    assert_eq!(report.records, 40 * 4 + 1 + 2);
    second.kill9();
}

#[tokio::test]
async fn an_initialised_data_dir_without_its_store_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = DaemonProcess::spawn(&data);
    first.kill9();
    std::fs::remove_file(data.join("portcullis.db")).unwrap();
    let out = serve_once(&data);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("portcullis.db is missing"), "{stderr}");
    assert!(
        !data.join("portcullis.db").exists(),
        "a fresh empty registry was created"
    );
}

async fn record_consent(d: &TestDaemon, msisdn: &str, enterprise: &str) -> String {
    let channel = d.channel().await;
    RegistryClient::new(channel)
        .record_consent(consent_req(msisdn, enterprise, 1))
        .await
        .unwrap()
        .into_inner()
        .consent_id
}

#[tokio::test]
async fn idempotency_duplicates_and_the_frequency_cap_survive_a_restart() {
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().join("data");
    let opts = || DaemonOptions {
        data_dir: Some(data.clone()),
        ..Default::default()
    };
    let sub = "13800138000";
    let first = TestDaemon::start_with(opts()).await;
    record_consent(&first, sub, "ent-jd").await;
    let released: Vec<proto::Decision> = {
        let mut out = Vec::new();
        for i in 1..=3 {
            let mut req = request(
                JD,
                sub,
                &format!("【京东】第{i}波福利：会员价立减{i}00元，领券 jd.com/m{i} 退订回T"),
            );
            req.message_id = format!("restart-{i}");
            let d = first.screen(req).await;
            assert_eq!(d.verdict(), proto::Verdict::Release, "{d:?}");
            out.push(d);
        }
        out
    };
    first.stop().await;

    let second = TestDaemon::start_with(opts()).await;
    // The same key gets the same decision and decision_id.
    let mut retry = request(
        JD,
        sub,
        "【京东】第1波福利：会员价立减100元，领券 jd.com/m1 退订回T",
    );
    retry.message_id = "restart-1".into();
    let again = second.screen(retry.clone()).await;
    assert_eq!(again, released[0]);
    // The same text under a new id is a duplicate; a new text is over today's cap.
    retry.message_id = "restart-1b".into();
    let duplicate = reasons(&second.screen(retry).await);
    assert_eq!(duplicate[0], ReasonCode::ReasonDuplicate, "{duplicate:?}");
    assert!(
        duplicate.contains(&ReasonCode::ReasonFrequencyCap),
        "{duplicate:?}"
    );
    let fourth = second
        .screen(request(
            JD,
            sub,
            "【京东】第4波福利：电脑会员价立减400元，领券 jd.com/m4 退订回T",
        ))
        .await;
    assert_eq!(
        reasons(&fourth),
        vec![ReasonCode::ReasonFrequencyCap],
        "{fourth:?}"
    );
    second.stop().await;
}

#[tokio::test]
async fn a_full_store_fails_writes_unavailable_while_screening_goes_on() {
    let d = TestDaemon::start_with(DaemonOptions {
        config: Some("[store]\nmax_size_mb = 1\n".into()),
        ..Default::default()
    })
    .await;
    let errors = "portcullis_store_write_errors_total";
    let before = metric_value(&d.scrape().await, errors, &[]);
    let channel = d.channel().await;
    let mut registry = RegistryClient::new(channel);
    let rows: Vec<proto::OptOutRequest> = (0..20_000u32)
        .map(|i| proto::OptOutRequest {
            msisdn: format!("137{i:08}"),
            enterprise_id: "ent-jd".into(),
            ..Default::default()
        })
        .collect();
    let status = registry
        .import_opt_outs(tokio_stream::iter(rows))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("full"), "{status:?}");
    // The store stays full: the next import of the same size fails the same way.
    let more: Vec<proto::OptOutRequest> = (0..20_000u32)
        .map(|i| proto::OptOutRequest {
            msisdn: format!("136{i:08}"),
            enterprise_id: "ent-jd".into(),
            ..Default::default()
        })
        .collect();
    let again = registry
        .import_opt_outs(tokio_stream::iter(more))
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::Unavailable, "{again:?}");
    // Screening goes on from memory.
    let code = d
        .screen(request(
            CMB,
            "13800138000",
            "【招商银行】您的验证码是123456，请勿泄露。",
        ))
        .await;
    assert_eq!(code.verdict(), proto::Verdict::Release);
    assert!(metric_value(&d.scrape().await, errors, &[]) >= before + 1.0);
    d.stop().await;
}

#[tokio::test]
async fn a_corrupt_store_is_a_clear_error_not_an_empty_registry() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    DaemonProcess::spawn(&data).kill9();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data.join(format!("portcullis.db{suffix}")));
    }
    std::fs::write(data.join("portcullis.db"), vec![0x5a; 64 * 1024]).unwrap();
    let out = serve_once(&data);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not a database") || stderr.contains("malformed"),
        "{stderr}"
    );
    assert!(!stderr.contains("grpc listening"), "{stderr}");
}

/// Runs `serve` on `data` and returns once it exits (it should refuse to start).
fn serve_once(data: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args([
            "serve",
            "--grpc-addr",
            "127.0.0.1:0",
            "--metrics-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(data)
        .output()
        .unwrap()
}
