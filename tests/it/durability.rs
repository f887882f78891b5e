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
    assert_eq!(report.records, 40 * 4 + 1);
    second.kill9();
}

#[tokio::test]
async fn an_initialised_data_dir_without_its_store_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = DaemonProcess::spawn(&data);
    first.kill9();
    std::fs::remove_file(data.join("portcullis.db")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args([
            "serve",
            "--grpc-addr",
            "127.0.0.1:0",
            "--metrics-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("portcullis.db is missing"), "{stderr}");
    assert!(
        !data.join("portcullis.db").exists(),
        "a fresh empty registry was created"
    );
}
