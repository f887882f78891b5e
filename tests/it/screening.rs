//! Every reason code this version produces, each in a realistic scenario, through the real server.

use portcullis::proto::{Category, ReasonCode, Verdict};

use crate::util::*;

const SUB: &str = "13800138000"; // 北京, china_mobile
const MARKETING_JD: &str = "【京东】双11狂欢返场，家电低至5折，满300减50，领券 jd.com/sale 退订回T";

#[tokio::test]
async fn verification_code_is_released_and_explained() {
    let d = TestDaemon::start().await;
    let decision = d
        .screen(request(
            CMB,
            "+8613800138000",
            "【招商银行】您的验证码是283746，5分钟内有效，请勿泄露。",
        ))
        .await;
    assert_eq!(decision.verdict(), Verdict::Release, "{decision:?}");
    assert_eq!(decision.category(), Category::Verification);
    assert!(decision.reasons.is_empty(), "{decision:?}");
    assert_eq!(decision.region, "北京/北京");
    assert_eq!(decision.carrier, "china_mobile");
    assert_eq!(decision.enterprise_id, "ent-cmb");
    assert_eq!(decision.smpp_status, 0);
    assert_eq!(decision.segments, 1);
    assert!(!decision.decision_id.is_empty());
    assert!(decision.spam_score < 0.5);
    d.stop().await;
}

#[tokio::test]
async fn marketing_with_consent_is_released_citing_the_consent() {
    let d = TestDaemon::start().await;
    d.consent(
        SUB,
        "ent-jd",
        "consent-jd-1",
        &[portcullis::domain::Category::Marketing],
    );
    let decision = d.screen(request(JD, SUB, MARKETING_JD)).await;
    assert_eq!(decision.verdict(), Verdict::Release, "{decision:?}");
    assert_eq!(decision.category(), Category::Marketing);
    assert_eq!(decision.consent_id, "consent-jd-1");
    d.stop().await;
}

#[tokio::test]
async fn marketing_without_consent_is_no_consent() {
    let d = TestDaemon::start().await;
    let decision = d.screen(request(JD, SUB, MARKETING_JD)).await;
    assert_eq!(decision.verdict(), Verdict::Reject);
    assert_eq!(
        reasons(&decision),
        vec![ReasonCode::ReasonNoConsent],
        "{decision:?}"
    );
    assert_eq!(decision.smpp_status, 0x45);
    d.stop().await;
}

#[tokio::test]
async fn opted_out_beats_consent() {
    let d = TestDaemon::start().await;
    d.consent(
        SUB,
        "ent-jd",
        "c-1",
        &[portcullis::domain::Category::Marketing],
    );
    d.registry.opt_out(
        portcullis::domain::Msisdn::parse(SUB).unwrap(),
        Some("ent-jd"),
        portcullis::domain::OptOutScope::Commercial,
    );
    let decision = d.screen(request(JD, SUB, MARKETING_JD)).await;
    assert_eq!(decision.verdict(), Verdict::Reject);
    assert_eq!(
        reasons(&decision)[0],
        ReasonCode::ReasonOptedOut,
        "{decision:?}"
    );
    // A commercial opt-out never blocks a verification code from the same enterprise.
    let code = d
        .screen(request(
            JD,
            SUB,
            "【京东】验证码：552901，用于登录京东账号，5分钟内有效。",
        ))
        .await;
    assert_eq!(code.verdict(), Verdict::Release, "{code:?}");
    d.stop().await;
}

#[tokio::test]
async fn loan_marketing_needs_a_consent_that_names_loans() {
    let d = TestDaemon::start().await;
    let loan = "【快借钱包】您有一笔最高50000元的信用贷款额度待领取，日息低至0.02%，最快3分钟放款，回T退订";
    d.consent(
        SUB,
        "ent-quickloan",
        "c-marketing-only",
        &[portcullis::domain::Category::Marketing],
    );
    let refused = d.screen(request(LOAN, SUB, loan)).await;
    assert_eq!(refused.category(), Category::LoanMarketing, "{refused:?}");
    assert_eq!(
        reasons(&refused),
        vec![ReasonCode::ReasonNoConsent],
        "{refused:?}"
    );
    d.consent(
        SUB,
        "ent-quickloan",
        "c-loans",
        &[portcullis::domain::Category::LoanMarketing],
    );
    let mut retry = request(LOAN, SUB, loan);
    retry.message_id.push_str("-b");
    let released = d.screen(retry).await;
    assert_eq!(released.verdict(), Verdict::Release, "{released:?}");
    assert_eq!(released.consent_id, "c-loans");
    d.stop().await;
}

#[tokio::test]
async fn unknown_port_is_sender_unknown_with_its_smpp_status() {
    let d = TestDaemon::start().await;
    let decision = d
        .screen(request(
            "10691234567",
            SUB,
            "【某商城】您的订单已发货，快递单号SF1234567890。",
        ))
        .await;
    assert_eq!(decision.verdict(), Verdict::Reject);
    assert_eq!(reasons(&decision)[0], ReasonCode::ReasonSenderUnknown);
    assert_eq!(decision.smpp_status, 0x0A);
    d.stop().await;
}

#[tokio::test]
async fn longer_port_belongs_to_its_registered_prefix() {
    let d = TestDaemon::start().await;
    let decision = d
        .screen(request(
            "106900888001",
            SUB,
            "【顺丰速运】您的快件已到达丰巢柜，取件码 38291，请及时取件。",
        ))
        .await;
    assert_eq!(decision.enterprise_id, "ent-sfexpress", "{decision:?}");
    assert_eq!(decision.verdict(), Verdict::Release, "{decision:?}");
    d.stop().await;
}

#[tokio::test]
async fn foreign_signature_is_signature_mismatch() {
    let d = TestDaemon::start().await;
    let decision = d
        .screen(request(
            CMB,
            SUB,
            "【工商银行】您的验证码是883921，请勿泄露。",
        ))
        .await;
    assert_eq!(decision.verdict(), Verdict::Reject);
    assert_eq!(
        reasons(&decision)[0],
        ReasonCode::ReasonSignatureMismatch,
        "{decision:?}"
    );
    d.stop().await;
}

#[tokio::test]
async fn marketing_on_a_service_port_is_category_not_allowed() {
    let d = TestDaemon::start().await;
    d.consent(
        SUB,
        "ent-sfexpress",
        "c-sf",
        &[portcullis::domain::Category::Marketing],
    );
    let decision = d
        .screen(request(
            SF,
            SUB,
            "【顺丰速运】会员日限时优惠，寄件满100减20，领券再享8折，退订回T",
        ))
        .await;
    assert_eq!(decision.verdict(), Verdict::Reject);
    assert_eq!(decision.category(), Category::Marketing, "{decision:?}");
    assert_eq!(
        reasons(&decision)[0],
        ReasonCode::ReasonCategoryNotAllowed,
        "{decision:?}"
    );
    d.stop().await;
}

#[tokio::test]
async fn gambling_is_illegal_content() {
    let d = TestDaemon::start().await;
    let decision = d
        .screen(request(
            JD,
            SUB,
            "【京东】真人娱乐百家乐，首充送彩金，日赢万元，加V信 abc8899 退订回T",
        ))
        .await;
    assert_eq!(decision.verdict(), Verdict::Reject);
    assert_eq!(decision.category(), Category::Illegal, "{decision:?}");
    assert!(
        reasons(&decision).contains(&ReasonCode::ReasonIllegalContent),
        "{decision:?}"
    );
    d.stop().await;
}

#[tokio::test]
async fn bank_phishing_is_fraud_suspect() {
    let d = TestDaemon::start().await;
    let decision = d
        .screen(request(CMB, SUB, "【招商银行】尊敬的客户，您的账户存在异常已被冻结，请立即点击 t.cn/A6bXz 验证身份解除限制。"))
        .await;
    assert_eq!(decision.verdict(), Verdict::Reject);
    assert_eq!(decision.category(), Category::FraudSuspect, "{decision:?}");
    assert!(
        reasons(&decision).contains(&ReasonCode::ReasonFraudSuspect),
        "{decision:?}"
    );
    d.stop().await;
}

#[tokio::test]
async fn commercial_without_signature_or_optout_notice() {
    let d = TestDaemon::start().await;
    d.consent(
        SUB,
        "ent-jd",
        "c-1",
        &[portcullis::domain::Category::Marketing],
    );
    let no_sig = d
        .screen(request(
            JD,
            SUB,
            "双11狂欢返场，家电低至5折，满300减50，领券下单更优惠，退订回T",
        ))
        .await;
    assert_eq!(no_sig.verdict(), Verdict::Reject);
    assert_eq!(
        reasons(&no_sig),
        vec![ReasonCode::ReasonMissingSignature],
        "{no_sig:?}"
    );
    let no_notice = d
        .screen(request(
            JD,
            SUB,
            "【京东】双11狂欢返场，家电低至5折，满300减50，领券下单更优惠",
        ))
        .await;
    assert_eq!(no_notice.verdict(), Verdict::Reject);
    // Deciding reason first; the content model may add SPAM_CONTENT (marketing with no way out
    // reads as spam to it), never anything else.
    let found = reasons(&no_notice);
    assert_eq!(
        found[0],
        ReasonCode::ReasonMissingOptoutNotice,
        "{no_notice:?}"
    );
    assert!(
        found[1..]
            .iter()
            .all(|r| *r == ReasonCode::ReasonSpamContent),
        "{no_notice:?}"
    );
    // The notice in a wording other than 回T退订 is a notice all the same.
    let worded = d
        .screen(request(
            JD,
            SUB,
            "【京东】双11狂欢返场，家电低至5折，满300减50，领券下单更优惠，如不想再收到此类信息请回复TD",
        ))
        .await;
    assert_eq!(worded.verdict(), Verdict::Release, "{worded:?}");
    d.stop().await;
}

#[tokio::test]
async fn obfuscated_spam_is_spam_content() {
    let d = TestDaemon::start().await;
    d.consent(
        SUB,
        "ent-jd",
        "c-1",
        &[portcullis::domain::Category::Marketing],
    );
    let decision = d
        .screen(request(
            JD,
            SUB,
            "【京东】年终清仓全场1折起，加 薇 信 ＡＢＣ①②③④ 领专属优惠券，点击 t.cn/Ab12 抢购，退订回T",
        ))
        .await;
    assert_eq!(decision.verdict(), Verdict::Reject, "{decision:?}");
    assert!(decision.spam_score >= 0.8, "{decision:?}");
    assert_eq!(decision.category(), Category::Marketing, "{decision:?}");
    assert_eq!(
        reasons(&decision),
        vec![ReasonCode::ReasonSpamContent],
        "{decision:?}"
    );
    assert!(
        decision.symbols.iter().any(|s| s == "OBFUSCATED_WECHAT"),
        "{decision:?}"
    );
    d.stop().await;
}

#[tokio::test]
async fn same_text_twice_is_duplicate_and_fourth_marketing_is_frequency_cap() {
    let d = TestDaemon::start().await;
    d.consent(
        SUB,
        "ent-jd",
        "c-1",
        &[portcullis::domain::Category::Marketing],
    );
    let first = d.screen(request(JD, SUB, MARKETING_JD)).await;
    assert_eq!(first.verdict(), Verdict::Release, "{first:?}");
    // Width and spacing tricks do not make a resend new.
    let again = d
        .screen(request(
            JD,
            SUB,
            "【京东】双11狂欢返场，家电低至５折，满300减50，领券 jd.com/sale  退订回T",
        ))
        .await;
    assert_eq!(again.verdict(), Verdict::Reject);
    assert_eq!(
        reasons(&again),
        vec![ReasonCode::ReasonDuplicate],
        "{again:?}"
    );

    for i in 2..=3 {
        let d2 = d
            .screen(request(
                JD,
                SUB,
                &format!("【京东】第{i}波福利：手机会员价立减{i}00元，领券 jd.com/m{i} 退订回T"),
            ))
            .await;
        assert_eq!(d2.verdict(), Verdict::Release, "message {i}: {d2:?}");
    }
    let fourth = d
        .screen(request(
            JD,
            SUB,
            "【京东】第4波福利：电脑会员价立减400元，领券 jd.com/m4 退订回T",
        ))
        .await;
    assert_eq!(fourth.verdict(), Verdict::Reject);
    assert_eq!(
        reasons(&fourth),
        vec![ReasonCode::ReasonFrequencyCap],
        "{fourth:?}"
    );
    // Service messages are not capped, and the next day the cap starts again.
    let bill = d
        .screen(request(
            JD,
            SUB,
            "【京东】您的订单已发货，预计明天送达，快递单号JD0012345678。",
        ))
        .await;
    assert_eq!(bill.verdict(), Verdict::Release, "{bill:?}");
    d.clock.advance(std::time::Duration::from_secs(24 * 3600));
    let next_day = d
        .screen(request(
            JD,
            SUB,
            "【京东】第5波福利：平板会员价立减500元，领券 jd.com/m5 退订回T",
        ))
        .await;
    assert_eq!(next_day.verdict(), Verdict::Release, "{next_day:?}");
    d.stop().await;
}

#[tokio::test]
async fn marketing_at_night_is_held_until_eight_and_then_released() {
    let d = TestDaemon::start().await;
    d.consent(
        SUB,
        "ent-jd",
        "c-1",
        &[portcullis::domain::Category::Marketing],
    );
    // 22:30 in Shanghai.
    d.clock.set("2026-11-23T14:30:00Z".parse().unwrap());
    let req = request(JD, SUB, MARKETING_JD);
    let held = d.screen(req.clone()).await;
    assert_eq!(held.verdict(), Verdict::Hold, "{held:?}");
    assert_eq!(reasons(&held), vec![ReasonCode::ReasonQuietHours]);
    assert_eq!(held.smpp_status, 0x58);
    let until = held.hold_until.unwrap();
    // 08:00 Shanghai the next morning = 00:00 UTC.
    assert_eq!(
        until.seconds,
        "2026-11-24T00:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
    );

    // Before hold_until the same HOLD comes back.
    d.clock.set("2026-11-23T20:00:00Z".parse().unwrap());
    let still = d.screen(req.clone()).await;
    assert_eq!(still, held);

    // At hold_until it is screened afresh and released; a later retry gets that same decision.
    d.clock.set("2026-11-24T00:00:00Z".parse().unwrap());
    let released = d.screen(req.clone()).await;
    assert_eq!(released.verdict(), Verdict::Release, "{released:?}");
    assert_ne!(released.decision_id, held.decision_id);
    let retry = d.screen(req).await;
    assert_eq!(retry.decision_id, released.decision_id);
    d.stop().await;
}

#[tokio::test]
async fn collection_is_held_after_ten_pm_but_verification_is_not() {
    let d = TestDaemon::start().await;
    // 22:10 Shanghai: after the collection window, outside the marketing one too.
    d.clock.set("2026-11-23T14:10:00Z".parse().unwrap());
    let dun = d
        .screen(request(
            COLLECT,
            SUB,
            "【汇催资产】您在某平台的借款已逾期30天，欠款金额3200元，请尽快还款，以免影响征信。",
        ))
        .await;
    assert_eq!(dun.category(), Category::Collection, "{dun:?}");
    assert_eq!(dun.verdict(), Verdict::Hold, "{dun:?}");
    assert_eq!(reasons(&dun), vec![ReasonCode::ReasonQuietHours]);
    let code = d
        .screen(request(
            CMB,
            SUB,
            "【招商银行】您的验证码是918273，5分钟内有效，请勿泄露。",
        ))
        .await;
    assert_eq!(code.verdict(), Verdict::Release, "{code:?}");
    d.stop().await;
}

#[tokio::test]
async fn emergency_sender_is_released_without_checks() {
    let d = TestDaemon::start().await;
    d.clock.set("2026-11-23T17:00:00Z".parse().unwrap()); // 01:00 Shanghai
    let alert = d
        .screen(request(EMERGENCY, SUB, "【应急管理部】台风红色预警：请立即转移至安全地带，点击 t.cn/Xy12 查看避难场所，领取救灾物资。"))
        .await;
    assert_eq!(alert.verdict(), Verdict::Release, "{alert:?}");
    assert!(alert.reasons.is_empty());
    assert!(alert.symbols.contains(&"EMERGENCY_SENDER".to_owned()));
    d.stop().await;
}

#[tokio::test]
async fn same_message_id_gets_the_same_decision_and_a_new_text_is_refused() {
    let d = TestDaemon::start().await;
    let req = request(
        CMB,
        SUB,
        "【招商银行】您尾号1234的账户于11月23日消费128.00元，余额5,320.11元。",
    );
    let a = d.screen(req.clone()).await;
    let b = d.screen(req.clone()).await;
    assert_eq!(a, b);
    let mut changed = req.clone();
    changed.text.push_str("点击 t.cn/x 领奖");
    let err = d.screen_status(changed).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().starts_with("message_id:"), "{err:?}");
    // A dry run is never stored: it gets no decision id and changes nothing.
    let mut dry = request(
        CMB,
        SUB,
        "【招商银行】您尾号1234的账户于11月24日消费99.00元。",
    );
    dry.dry_run = true;
    let dry_decision = d.screen(dry.clone()).await;
    assert!(dry_decision.decision_id.is_empty());
    dry.dry_run = false;
    assert!(!d.screen(dry).await.decision_id.is_empty());
    d.stop().await;
}

#[tokio::test]
async fn malformed_unary_requests_are_invalid_argument_naming_the_field() {
    let d = TestDaemon::start().await;
    let cases: Vec<(&str, portcullis::proto::ScreenRequest)> = vec![
        (
            "msisdn",
            request(CMB, "12345", "【招商银行】您的验证码是123456。"),
        ),
        (
            "msisdn",
            request(CMB, "+4477009001234", "【招商银行】您的验证码是123456。"),
        ),
        ("text", request(CMB, SUB, "")),
        ("text", request(CMB, SUB, &"长".repeat(2001))),
        ("sender_port", request("abc", SUB, "hello")),
        (
            "message_id",
            portcullis::proto::ScreenRequest {
                message_id: String::new(),
                ..request(CMB, SUB, "hi")
            },
        ),
        (
            "concat",
            portcullis::proto::ScreenRequest {
                concat: Some(portcullis::proto::Concat {
                    reference: 7,
                    total: 2,
                    seq: 3,
                }),
                ..request(CMB, SUB, "part")
            },
        ),
        (
            "concat",
            portcullis::proto::ScreenRequest {
                concat: Some(portcullis::proto::Concat {
                    reference: 7,
                    total: 17,
                    seq: 1,
                }),
                ..request(CMB, SUB, "part")
            },
        ),
        (
            "concat",
            portcullis::proto::ScreenRequest {
                concat: Some(portcullis::proto::Concat {
                    reference: 7,
                    total: 2,
                    seq: 0,
                }),
                ..request(CMB, SUB, "part")
            },
        ),
        (
            "data_coding",
            portcullis::proto::ScreenRequest {
                text: String::new(),
                raw_payload: vec![0x01, 0x02, 0x03],
                data_coding: 4,
                ..request(CMB, SUB, "")
            },
        ),
        (
            "raw_payload",
            portcullis::proto::ScreenRequest {
                text: String::new(),
                // The UDH claims 9 octets of header in a 4-octet payload.
                raw_payload: vec![0x09, 0x00, 0x03, 0x01],
                udhi: true,
                ..request(CMB, SUB, "")
            },
        ),
        (
            "raw_payload",
            portcullis::proto::ScreenRequest {
                text: String::new(),
                // A lone high surrogate in UCS-2.
                raw_payload: vec![0xD8, 0x3D, 0x00, 0x41],
                data_coding: 8,
                ..request(CMB, SUB, "")
            },
        ),
        (
            "udhi",
            portcullis::proto::ScreenRequest {
                udhi: true,
                ..request(CMB, SUB, "a text has no UDH")
            },
        ),
        (
            "concat",
            portcullis::proto::ScreenRequest {
                text: String::new(),
                raw_payload: [&[0x05, 0x00, 0x03, 0x2A, 0x02, 0x01][..], b"Hello"].concat(),
                udhi: true,
                concat: Some(portcullis::proto::Concat {
                    reference: 43,
                    total: 2,
                    seq: 1,
                }),
                ..request(CMB, SUB, "")
            },
        ),
    ];
    for (field, req) in cases {
        let status = d.screen_status(req.clone()).await.unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{req:?}");
        assert!(
            status.message().starts_with(&format!("{field}:")),
            "{field}: {status:?}"
        );
        assert_eq!(status.metadata().get("portcullis-field").unwrap(), field);
    }
    // Exactly 2,000 characters is fine.
    let at_limit = d.screen_status(request(CMB, SUB, &"好".repeat(2000))).await;
    assert!(at_limit.is_ok(), "{at_limit:?}");
    d.stop().await;
}

#[tokio::test]
async fn shadow_mode_releases_and_reports_the_would_be_verdict() {
    let config =
        "[policy]\nmonitor_reasons = [\"NO_CONSENT\"]\n[files]\nsenders = \"senders.toml\"\n";
    let senders = std::fs::read_to_string(repo_path("config/senders.toml")).unwrap();
    let d = TestDaemon::start_with(DaemonOptions {
        config: Some(config.into()),
        files: vec![("senders.toml".into(), senders)],
        ..Default::default()
    })
    .await;
    let before = d.scrape().await;
    let decision = d.screen(request(JD, SUB, MARKETING_JD)).await;
    assert_eq!(decision.verdict(), Verdict::Release, "{decision:?}");
    assert_eq!(decision.monitored_verdict(), Verdict::Reject);
    assert_eq!(reasons(&decision), vec![ReasonCode::ReasonNoConsent]);
    assert_eq!(decision.smpp_status, 0);
    // Rules not in monitor mode still enforce.
    let unsigned = d
        .screen(request(
            JD,
            SUB,
            "双11狂欢返场，家电低至5折，满300减50，退订回T",
        ))
        .await;
    assert_eq!(unsigned.verdict(), Verdict::Reject, "{unsigned:?}");
    assert_eq!(reasons(&unsigned)[0], ReasonCode::ReasonMissingSignature);
    let after = d.scrape().await;
    let series = "portcullis_monitor_overrides_total";
    assert!(
        metric_value(&after, series, &["rule=\"NO_CONSENT\""])
            >= metric_value(&before, series, &["rule=\"NO_CONSENT\""]) + 1.0
    );
    d.stop().await;
}

#[tokio::test]
async fn global_monitor_mode_releases_everything_but_malformed() {
    let d = TestDaemon::start_with(DaemonOptions {
        config: Some("[policy]\nmonitor = true\n".into()),
        files: vec![],
        ..Default::default()
    })
    .await;
    let decision = d
        .screen(request("10691234567", SUB, "【某商城】您的订单已发货。"))
        .await;
    assert_eq!(decision.verdict(), Verdict::Release);
    assert_eq!(decision.monitored_verdict(), Verdict::Reject);
    assert_eq!(reasons(&decision)[0], ReasonCode::ReasonSenderUnknown);
    let status = d.screen_status(request(CMB, "123", "x")).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    d.stop().await;
}

#[tokio::test]
async fn metrics_count_decisions_by_verdict_reason_and_category() {
    let d = TestDaemon::start().await;
    let before = d.scrape().await;
    d.screen(request("10691234567", SUB, "【某商城】您的订单已发货。"))
        .await;
    let after = d.scrape().await;
    let labels = ["verdict=\"REJECT\"", "reason=\"SENDER_UNKNOWN\""];
    let series = "portcullis_decisions_total";
    assert!(metric_value(&after, series, &labels) >= metric_value(&before, series, &labels) + 1.0);
    assert!(after.contains("# HELP portcullis_decisions_total"));
    assert!(after.contains("portcullis_screen_duration_seconds_bucket"));
    d.stop().await;
}

#[tokio::test]
async fn reflection_and_health_list_the_contract() {
    use portcullis::proto::screening_client::ScreeningClient;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let d = TestDaemon::start().await;
    let channel = d.channel().await;
    let mut health = HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest {
            service: "portcullis.v1.Screening".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status.status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );

    let mut reflection = ServerReflectionClient::new(channel.clone());
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let response = responses.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("{response:?}")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for service in [
        "portcullis.v1.Screening",
        "portcullis.v1.Registry",
        "portcullis.v1.Complaints",
        "portcullis.v1.Compliance",
        "portcullis.v1.Operations",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.contains(&service.to_owned()),
            "{service} missing from {names:?}"
        );
    }

    // An empty request is refused with the field at fault, never a fake success.
    let mut operations =
        portcullis::proto::operations_client::OperationsClient::new(channel.clone());
    let err = operations
        .feedback(portcullis::proto::FeedbackRequest::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(err.message().starts_with("operator:"), "{err:?}");
    let _ = ScreeningClient::new(channel);
    d.stop().await;
}
