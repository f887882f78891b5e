//! The Registry, Complaints and Compliance services through the real gRPC API, with the scoping
//! rules of RULES.md: complaints and replies never cut a subscriber off from verification codes or
//! bills; a TD to a collection port leaves debt notices flowing; a wrong-recipient reply stops them.

use portcullis::proto::complaints_client::ComplaintsClient;
use portcullis::proto::compliance_client::ComplianceClient;
use portcullis::proto::registry_client::RegistryClient;
use portcullis::proto::{self, Category, ReasonCode, ReplyAction, Verdict};
use tonic::transport::Channel;

use crate::util::*;

const SUB: &str = "13800138000";
const MARKETING_JD: &str = "【京东】双11狂欢返场，家电低至5折，满300减50，领券 jd.com/sale 退订回T";
const CODE_JD: &str = "【京东】验证码：552901，用于登录京东账号，5分钟内有效。";
const DUNNING: &str =
    "【汇催资产】您在某平台的借款已逾期30天，欠款金额3200元，请尽快还款，以免影响征信。";

async fn clients(
    d: &TestDaemon,
) -> (
    RegistryClient<Channel>,
    ComplaintsClient<Channel>,
    ComplianceClient<Channel>,
) {
    let channel = d.channel().await;
    (
        RegistryClient::new(channel.clone()),
        ComplaintsClient::new(channel.clone()),
        ComplianceClient::new(channel),
    )
}

fn reply(msisdn: &str, port: &str, text: &str) -> proto::MoReply {
    proto::MoReply {
        msisdn: msisdn.into(),
        sender_port: port.into(),
        text: text.into(),
        received_at: None,
    }
}

#[tokio::test]
async fn consent_through_the_api_is_relied_on_and_revocation_stops_it() {
    let d = TestDaemon::start().await;
    let (mut registry, _, _) = clients(&d).await;
    let consent = registry
        .record_consent(proto::RecordConsentRequest {
            msisdn: "+8613800138000".into(),
            enterprise_id: "ent-jd".into(),
            channel: proto::Channel::App as i32,
            evidence_ref: "app-consent-8812".into(),
            evidence_sha256: proof_hash(1).to_uppercase(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(consent.msisdn, SUB);
    assert_eq!(
        consent.scope,
        vec![Category::Marketing as i32, Category::LoanMarketing as i32]
    );
    assert_eq!(consent.evidence_sha256, proof_hash(1));
    let released = d.screen(request(JD, SUB, MARKETING_JD)).await;
    assert_eq!(released.verdict(), Verdict::Release, "{released:?}");
    assert_eq!(released.consent_id, consent.consent_id);

    let revoked = registry
        .revoke_consent(proto::RevokeConsentRequest {
            msisdn: SUB.into(),
            enterprise_id: "ent-jd".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revoked.consent_id, consent.consent_id);
    assert!(revoked.revoked_at.is_some());
    let refused = d
        .screen(request(
            JD,
            SUB,
            "【京东】会员日全场满199减30，领券 jd.com/vip 退订回T",
        ))
        .await;
    assert_eq!(
        reasons(&refused),
        vec![ReasonCode::ReasonNoConsent],
        "{refused:?}"
    );
    // Nothing left in force: NOT_FOUND.
    let again = registry
        .revoke_consent(proto::RevokeConsentRequest {
            msisdn: SUB.into(),
            enterprise_id: "ent-jd".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::NotFound);
    d.stop().await;
}

#[tokio::test]
async fn bad_registry_requests_name_the_field() {
    let d = TestDaemon::start().await;
    let (mut registry, _, _) = clients(&d).await;
    let good = proto::RecordConsentRequest {
        msisdn: SUB.into(),
        enterprise_id: "ent-jd".into(),
        evidence_ref: "form-1".into(),
        evidence_sha256: proof_hash(1),
        ..Default::default()
    };
    let future = prost_types::Timestamp {
        seconds: jiff::Timestamp::now().as_second() + 86_400 * 400,
        nanos: 0,
    };
    let cases = [
        (
            "msisdn",
            proto::RecordConsentRequest {
                msisdn: "12345".into(),
                ..good.clone()
            },
        ),
        (
            "enterprise_id",
            proto::RecordConsentRequest {
                enterprise_id: " ".into(),
                ..good.clone()
            },
        ),
        (
            "evidence_sha256",
            proto::RecordConsentRequest {
                evidence_sha256: "abc".into(),
                ..good.clone()
            },
        ),
        (
            "evidence_ref",
            proto::RecordConsentRequest {
                evidence_ref: String::new(),
                ..good.clone()
            },
        ),
        (
            "granted_at",
            proto::RecordConsentRequest {
                granted_at: Some(future),
                ..good.clone()
            },
        ),
        (
            "scope",
            proto::RecordConsentRequest {
                scope: vec![Category::Illegal as i32],
                ..good.clone()
            },
        ),
    ];
    for (field, req) in cases {
        let status = registry.record_consent(req).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert!(
            status.message().starts_with(&format!("{field}:")),
            "{field}: {status:?}"
        );
    }
    let carrier_collection = registry
        .opt_out(proto::OptOutRequest {
            msisdn: SUB.into(),
            scope: proto::OptOutScope::Collection as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(carrier_collection.code(), tonic::Code::InvalidArgument);
    assert!(carrier_collection.message().starts_with("scope:"));
    d.stop().await;
}

#[tokio::test]
async fn carrier_level_opt_out_refuses_every_enterprise_and_opt_in_restores() {
    let d = TestDaemon::start().await;
    let (mut registry, _, _) = clients(&d).await;
    d.consent(
        SUB,
        "ent-jd",
        "c-jd",
        &[portcullis::domain::Category::Marketing],
    );
    let record = registry
        .opt_out(proto::OptOutRequest {
            msisdn: SUB.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(record.opted_out);
    assert_eq!(record.enterprise_id, "");
    let refused = d.screen(request(JD, SUB, MARKETING_JD)).await;
    assert_eq!(
        reasons(&refused)[0],
        ReasonCode::ReasonOptedOut,
        "{refused:?}"
    );
    assert_eq!(
        d.screen(request(JD, SUB, CODE_JD)).await.verdict(),
        Verdict::Release
    );
    registry
        .opt_in(proto::OptInRequest {
            msisdn: SUB.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let released = d
        .screen(request(
            JD,
            SUB,
            "【京东】会员日全场满199减30，领券 jd.com/vip 退订回T",
        ))
        .await;
    assert_eq!(released.verdict(), Verdict::Release, "{released:?}");
    d.stop().await;
}

#[tokio::test]
async fn replies_opt_out_of_the_ports_enterprise_with_a_confirmation() {
    let d = TestDaemon::start().await;
    let (mut registry, _, _) = clients(&d).await;
    d.consent(
        SUB,
        "ent-jd",
        "c-jd",
        &[portcullis::domain::Category::Marketing],
    );
    let outcome = registry
        .handle_reply(reply(SUB, JD, "ＴＤ"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(outcome.action(), ReplyAction::OptOut);
    assert_eq!(outcome.enterprise_id, "ent-jd");
    assert_eq!(
        outcome.confirmation_text,
        "【京东】您已成功退订京东的营销短信。"
    );
    assert!(!outcome.record_id.is_empty());
    assert_eq!(
        reasons(&d.screen(request(JD, SUB, MARKETING_JD)).await)[0],
        ReasonCode::ReasonOptedOut
    );
    // Verification codes from the same enterprise keep flowing.
    assert_eq!(
        d.screen(request(JD, SUB, CODE_JD)).await.verdict(),
        Verdict::Release
    );

    let none = registry
        .handle_reply(reply(SUB, JD, "T恤多少钱"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(none.action(), ReplyAction::None);
    assert!(none.confirmation_text.is_empty());

    let back = registry
        .handle_reply(reply(SUB, JD, "订阅"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(back.action(), ReplyAction::OptIn);
    let released = d
        .screen(request(
            JD,
            SUB,
            "【京东】会员日全场满199减30，领券 jd.com/vip 退订回T",
        ))
        .await;
    assert_eq!(released.verdict(), Verdict::Release, "{released:?}");

    let unknown = registry
        .handle_reply(reply(SUB, "10699999999", "TD"))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    d.stop().await;
}

#[tokio::test]
async fn td_to_a_collection_port_leaves_debt_notices_but_wrong_recipient_stops_them() {
    let d = TestDaemon::start().await;
    let (mut registry, _, _) = clients(&d).await;
    let td = registry
        .handle_reply(reply(SUB, COLLECT, "退订"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(td.action(), ReplyAction::OptOut);
    assert_eq!(td.scope(), proto::OptOutScope::Commercial);
    assert!(
        td.confirmation_text.contains("催收相关通知不受影响"),
        "{td:?}"
    );
    let notice = d.screen(request(COLLECT, SUB, DUNNING)).await;
    assert_eq!(notice.category(), Category::Collection);
    assert_eq!(
        notice.verdict(),
        Verdict::Release,
        "a debtor cannot unsubscribe from lawful notices: {notice:?}"
    );

    let wrong = registry
        .handle_reply(reply("13900139000", COLLECT, "你们发错了，我不是张三"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(wrong.action(), ReplyAction::WrongRecipient);
    assert_eq!(wrong.scope(), proto::OptOutScope::Collection);
    let stopped = d.screen(request(COLLECT, "13900139000", DUNNING)).await;
    assert_eq!(stopped.verdict(), Verdict::Reject);
    assert_eq!(
        reasons(&stopped)[0],
        ReasonCode::ReasonOptedOut,
        "{stopped:?}"
    );
    d.stop().await;
}

#[tokio::test]
async fn complaints_opt_out_of_commercial_traffic_only() {
    let d = TestDaemon::start().await;
    let (_, mut complaints, mut compliance) = clients(&d).await;
    d.consent(
        SUB,
        "ent-jd",
        "c-jd",
        &[portcullis::domain::Category::Marketing],
    );
    let ack = complaints
        .report(proto::Complaint {
            msisdn: SUB.into(),
            sender_port: JD.into(),
            source: "12321".into(),
            text: "每天发促销短信".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ack.enterprise_id, "ent-jd");
    assert_eq!(ack.region, "北京/北京");
    assert_eq!(ack.opt_outs.len(), 1);
    assert_eq!(ack.opt_outs[0].scope(), proto::OptOutScope::Commercial);
    assert_eq!(
        reasons(&d.screen(request(JD, SUB, MARKETING_JD)).await)[0],
        ReasonCode::ReasonOptedOut
    );
    // A complaint must never cut the subscriber off from verification codes or bills.
    assert_eq!(
        d.screen(request(JD, SUB, CODE_JD)).await.verdict(),
        Verdict::Release
    );
    let bill = d
        .screen(request(
            JD,
            SUB,
            "【京东】您的订单已发货，预计明天送达，快递单号JD0012345678。",
        ))
        .await;
    assert_eq!(bill.verdict(), Verdict::Release, "{bill:?}");

    // A wrong-recipient complaint about a collection port stops its collection notices too.
    let ack = complaints
        .report(proto::Complaint {
            msisdn: "13900139000".into(),
            sender_port: COLLECT.into(),
            source: "10086".into(),
            wrong_recipient: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ack.opt_outs.len(), 2);
    assert_eq!(
        reasons(&d.screen(request(COLLECT, "13900139000", DUNNING)).await)[0],
        ReasonCode::ReasonOptedOut
    );

    let mut history = compliance
        .consent_history(proto::ConsentQuery {
            msisdn: SUB.into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let first = history.message().await.unwrap().unwrap();
    assert_eq!(first.kind(), proto::ConsentEventKind::Complaint);
    assert!(first.complaint_id.starts_with("cmp-"), "{first:?}");
    d.stop().await;
}

#[tokio::test]
async fn import_keeps_good_rows_and_reports_bad_ones_by_index() {
    let d = TestDaemon::start().await;
    let (mut registry, _, _) = clients(&d).await;
    let rows = vec![
        proto::OptOutRequest {
            msisdn: "13700000001".into(),
            enterprise_id: "ent-jd".into(),
            ..Default::default()
        },
        proto::OptOutRequest {
            msisdn: "not-a-number".into(),
            enterprise_id: "ent-jd".into(),
            ..Default::default()
        },
        proto::OptOutRequest {
            msisdn: "13700000002".into(),
            ..Default::default()
        },
        proto::OptOutRequest {
            msisdn: "13700000003".into(),
            scope: proto::OptOutScope::Collection as i32,
            ..Default::default()
        },
    ];
    let summary = registry
        .import_opt_outs(tokio_stream::iter(rows))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((summary.accepted, summary.rejected), (2, 2));
    assert_eq!(
        summary.errors.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert!(summary.errors[0].reason.starts_with("msisdn:"));
    assert_eq!(
        reasons(&d.screen(request(JD, "13700000001", MARKETING_JD)).await)[0],
        ReasonCode::ReasonOptedOut
    );
    assert_eq!(
        reasons(&d.screen(request(JD, "13700000002", MARKETING_JD)).await)[0],
        ReasonCode::ReasonOptedOut
    );
    d.stop().await;
}

#[tokio::test]
async fn decisions_are_queryable_and_verification_text_is_never_stored() {
    let d = TestDaemon::start().await;
    let (_, _, mut compliance) = clients(&d).await;
    // Audited: a refused marketing message and a refused verification code (foreign signature).
    let marketing = d.screen(request(JD, SUB, MARKETING_JD)).await;
    let code = d
        .screen(request(
            CMB,
            SUB,
            "【工商银行】您的验证码是883921，请勿泄露。",
        ))
        .await;
    assert_eq!(code.category(), Category::Verification);
    // Not audited: a released verification code.
    d.screen(request(
        CMB,
        SUB,
        "【招商银行】您的验证码是123456，请勿泄露。",
    ))
    .await;

    let mut found = Vec::new();
    for _ in 0..50 {
        let mut stream = compliance
            .decisions(proto::DecisionQuery {
                msisdn: SUB.into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        found.clear();
        while let Some(r) = stream.message().await.unwrap() {
            found.push(r);
        }
        if found.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(found.len(), 2, "{found:?}");
    let m = &found[0];
    assert_eq!(
        m.decision.as_ref().unwrap().decision_id,
        marketing.decision_id
    );
    assert_eq!(m.request.as_ref().unwrap().text, MARKETING_JD);
    let c = &found[1];
    assert_eq!(c.decision.as_ref().unwrap().decision_id, code.decision_id);
    assert!(
        c.request.as_ref().unwrap().text.is_empty(),
        "verification text stored: {c:?}"
    );
    assert!(c.seq > m.seq);
    d.stop().await;
}

#[tokio::test]
async fn audit_all_keeps_every_decision_but_never_a_verification_text() {
    let d = TestDaemon::start_with(DaemonOptions {
        config: Some("[audit]\ndecisions = \"all\"\n".into()),
        ..Default::default()
    })
    .await;
    let (_, _, mut compliance) = clients(&d).await;
    let code = d
        .screen(request(
            CMB,
            SUB,
            "【招商银行】您的验证码是123456，请勿泄露。",
        ))
        .await;
    assert_eq!(code.verdict(), Verdict::Release);
    let mut found = None;
    for _ in 0..50 {
        let mut stream = compliance
            .decisions(proto::DecisionQuery {
                message_id: code.message_id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if let Some(r) = stream.message().await.unwrap() {
            found = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let record =
        found.expect("a released verification code is audited under audit.decisions = \"all\"");
    assert_eq!(record.decision.unwrap().decision_id, code.decision_id);
    assert!(record.request.unwrap().text.is_empty());
    d.stop().await;
}
