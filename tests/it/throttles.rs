//! Regional throttles, driven through the real pipeline with an injected clock: released commercial
//! traffic and complaints from one province move it through THROTTLED (holds spaced by the
//! limiter) to BLOCKED, verification codes still go through, the state survives a restart, and the
//! level drops once the window has moved past the complaints. Operator blocks through the API
//! survive kill -9.

use std::time::Duration;

use portcullis::clock::Clock;
use portcullis::proto::complaints_client::ComplaintsClient;
use portcullis::proto::operations_client::OperationsClient;
use portcullis::proto::{self, ReasonCode, ThrottleLevel, Verdict};

use crate::util::*;

const MARKETING: &str = "【京东】双11狂欢返场，家电低至5折，满300减50，领券 jd.com/sale 退订回T";
const CODE: &str = "【京东】验证码：552901，用于登录京东账号，5分钟内有效。";
/// 13005400000..13005409999 are 广东/深圳 numbers; 1380013xxxx are 北京.
fn guangdong(i: u32) -> String {
    format!("1300540{i:04}")
}

const POLICY: &str = "[window]\nhours = 24\nbucket_secs = 60\n[default]\nwarn_rate = 0.01\nthrottle_rate = 0.02\n\
block_rate = 0.05\nrelease_rate = 0.005\nmin_messages = 200\nmin_complaints = 3\nthrottle_msgs_per_s = 2.0\n";

fn options(data: &std::path::Path) -> DaemonOptions {
    DaemonOptions {
        config: Some("[files]\nthrottles = \"throttles.toml\"\n".into()),
        files: vec![("throttles.toml".into(), POLICY.into())],
        data_dir: Some(data.to_path_buf()),
        ..Default::default()
    }
}

async fn complain(d: &TestDaemon, n: u32, from: u32) {
    let mut complaints = ComplaintsClient::new(d.channel().await);
    for i in from..from + n {
        complaints
            .report(proto::Complaint {
                msisdn: guangdong(9000 + i),
                sender_port: JD.into(),
                source: "12321".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
}

async fn level(d: &TestDaemon, enterprise: &str) -> ThrottleLevel {
    let mut ops = OperationsClient::new(d.channel().await);
    let states = ops
        .list_throttles(proto::ListThrottlesRequest {
            province: "广东".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .states;
    states
        .iter()
        .find(|s| s.enterprise_id == enterprise && !s.manual)
        .map_or(ThrottleLevel::Normal, |s| s.level())
}

async fn marketing_to(d: &TestDaemon, i: u32) -> proto::Decision {
    let msisdn = guangdong(i);
    d.consent(
        &msisdn,
        "ent-jd",
        &format!("c-{i}"),
        &[portcullis::domain::Category::Marketing],
    );
    d.screen(request(JD, &msisdn, MARKETING)).await
}

#[tokio::test]
async fn complaints_throttle_then_block_a_province_and_the_state_survives_a_restart() {
    let keep = tempfile::tempdir().unwrap();
    let data = keep.path().join("data");
    let d = TestDaemon::start_with(options(&data)).await;

    // 200 released commercial messages into 广东: the minimum sample.
    for i in 0..200 {
        assert_eq!(marketing_to(&d, i).await.verdict(), Verdict::Release);
    }
    complain(&d, 2, 0).await;
    assert_eq!(
        level(&d, "ent-jd").await,
        ThrottleLevel::Normal,
        "2 complaints: below min_complaints"
    );
    complain(&d, 1, 2).await;
    // 3 / 200 = 0.015: WARN (>= 0.01), not yet THROTTLED (0.02).
    assert_eq!(level(&d, "ent-jd").await, ThrottleLevel::Warn);
    complain(&d, 1, 3).await;
    // 4 / 200 = 0.02: THROTTLED at once, within the same bucket.
    assert_eq!(level(&d, "ent-jd").await, ThrottleLevel::Throttled);
    assert_eq!(
        level(&d, "").await,
        ThrottleLevel::Throttled,
        "the province as a whole too"
    );

    // Holds are spaced as the limiter allows: 2 msg/s, so one message per 500 ms.
    let first = marketing_to(&d, 300).await;
    assert_eq!(first.verdict(), Verdict::Release, "{first:?}");
    let held = marketing_to(&d, 301).await;
    assert_eq!(held.verdict(), Verdict::Hold, "{held:?}");
    assert_eq!(held.reasons[0].code(), ReasonCode::ReasonRegionThrottled);
    assert_eq!(held.smpp_status, 0x58);
    let now = d.clock.now();
    let until = held.hold_until.unwrap();
    let wait_ms = (until.seconds - now.as_second()) * 1000 + i64::from(until.nanos / 1_000_000);
    assert!(
        (1..=500).contains(&wait_ms),
        "next slot within 500 ms, got {wait_ms} ms"
    );
    d.clock.advance(Duration::from_millis(500));
    assert_eq!(
        marketing_to(&d, 302).await.verdict(),
        Verdict::Release,
        "a slot opened after 500 ms"
    );
    assert_eq!(
        marketing_to(&d, 303).await.verdict(),
        Verdict::Hold,
        "and the next one waits again"
    );
    // Other provinces and verification codes are untouched.
    // (Verification codes do not count toward the window: only released commercial messages do.)
    assert_eq!(
        d.screen(request(JD, &guangdong(5000), CODE))
            .await
            .verdict(),
        Verdict::Release
    );
    d.consent(
        "13800138000",
        "ent-jd",
        "c-bj",
        &[portcullis::domain::Category::Marketing],
    );
    assert_eq!(
        d.screen(request(JD, "13800138000", MARKETING))
            .await
            .verdict(),
        Verdict::Release
    );

    // 202 messages into 广东 now. 10 complaints = 0.0495: still THROTTLED; 11 = 0.0545: BLOCKED.
    complain(&d, 6, 4).await;
    assert_eq!(level(&d, "ent-jd").await, ThrottleLevel::Throttled);
    complain(&d, 1, 10).await;
    assert_eq!(level(&d, "ent-jd").await, ThrottleLevel::Blocked);
    let blocked = marketing_to(&d, 400).await;
    assert_eq!(blocked.verdict(), Verdict::Reject);
    assert!(
        reasons(&blocked).contains(&ReasonCode::ReasonRegionBlocked),
        "{blocked:?}"
    );
    assert_eq!(
        d.screen(request(JD, &guangdong(5001), CODE))
            .await
            .verdict(),
        Verdict::Release
    );
    let at = d.clock.now();
    d.stop().await;

    // The same state after a restart: rebuilt from the stored decisions and complaints.
    let d = TestDaemon::start_with(DaemonOptions {
        start_at: Some(at),
        ..options(&data)
    })
    .await;
    assert_eq!(level(&d, "ent-jd").await, ThrottleLevel::Blocked);
    let still = marketing_to(&d, 401).await;
    assert!(
        reasons(&still).contains(&ReasonCode::ReasonRegionBlocked),
        "{still:?}"
    );

    // A day later the complaints have left the window: the level drops below release_rate.
    d.clock.advance(Duration::from_secs(25 * 3600));
    let released = marketing_to(&d, 402).await;
    assert_eq!(released.verdict(), Verdict::Release, "{released:?}");
    assert_eq!(level(&d, "ent-jd").await, ThrottleLevel::Normal);
    d.stop().await;
}

#[tokio::test]
async fn an_operator_block_survives_kill_9_and_an_unblock_does_too() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let block = proto::RegionBlock {
        province: "广东".into(),
        enterprise_id: "ent-jd".into(),
        categories: vec![],
        reason: "complaint spike from 12321".into(),
        operator: "ops-li".into(),
    };
    let first = DaemonProcess::spawn(&data);
    let mut ops = OperationsClient::new(first.channel().await);
    let state = ops.block_region(block.clone()).await.unwrap().into_inner();
    assert!(state.blocked);
    assert_eq!(
        state.block.unwrap().categories,
        vec![
            proto::Category::Marketing as i32,
            proto::Category::LoanMarketing as i32
        ]
    );
    first.kill9();

    let second = DaemonProcess::spawn(&data);
    let channel = second.channel().await;
    let mut screening = portcullis::proto::screening_client::ScreeningClient::new(channel.clone());
    let dry = |msisdn: &str, text: &str| proto::ScreenRequest {
        message_id: format!("{msisdn}-{}", text.len()),
        sender_port: JD.into(),
        msisdn: msisdn.into(),
        text: text.into(),
        dry_run: true,
        ..Default::default()
    };
    let marketing = screening
        .screen(dry(&guangdong(1), MARKETING))
        .await
        .unwrap()
        .into_inner();
    assert!(
        reasons(&marketing).contains(&ReasonCode::ReasonRegionBlocked),
        "block lost: {marketing:?}"
    );
    let detail = &marketing
        .reasons
        .iter()
        .find(|r| r.code() == ReasonCode::ReasonRegionBlocked)
        .unwrap()
        .detail;
    assert!(detail.contains("ops-li"), "{detail}");
    let code = screening
        .screen(dry(&guangdong(2), CODE))
        .await
        .unwrap()
        .into_inner();
    assert!(
        !reasons(&code).contains(&ReasonCode::ReasonRegionBlocked),
        "{code:?}"
    );
    let beijing = screening
        .screen(dry("13800138000", MARKETING))
        .await
        .unwrap()
        .into_inner();
    assert!(!reasons(&beijing).contains(&ReasonCode::ReasonRegionBlocked));

    let mut ops = OperationsClient::new(channel);
    let listed = ops
        .list_throttles(proto::ListThrottlesRequest::default())
        .await
        .unwrap()
        .into_inner()
        .states;
    assert!(
        listed
            .iter()
            .any(|s| s.manual && s.province == "广东" && s.level() == ThrottleLevel::Blocked),
        "{listed:?}"
    );
    let lifted = ops
        .unblock_region(block.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(!lifted.blocked);
    let unknown = ops
        .block_region(proto::RegionBlock {
            province: "火星".into(),
            ..block.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::InvalidArgument);
    second.kill9();

    let third = DaemonProcess::spawn(&data);
    let mut screening =
        portcullis::proto::screening_client::ScreeningClient::new(third.channel().await);
    let after = screening
        .screen(dry(&guangdong(3), MARKETING))
        .await
        .unwrap()
        .into_inner();
    assert!(
        !reasons(&after).contains(&ReasonCode::ReasonRegionBlocked),
        "unblock lost: {after:?}"
    );
    third.kill9();
}

#[tokio::test]
async fn a_port_over_its_quota_is_held_and_every_segment_counts() {
    let mut senders = std::fs::read_to_string(repo_path("config/senders.toml")).unwrap();
    senders = senders.replacen(
        "port = \"106900888\"",
        "port = \"106900888\"\nmsgs_per_s = 2.0",
        1,
    );
    senders = senders.replacen(
        "port = \"10690001234\"",
        "port = \"10690001234\"\nsegments_per_s = 16.0",
        1,
    );
    let d = TestDaemon::start_with(DaemonOptions {
        config: Some("[files]\nsenders = \"senders.toml\"\n".into()),
        files: vec![("senders.toml".into(), senders)],
        ..Default::default()
    })
    .await;
    let notice = "【顺丰速运】您的快件已到达丰巢柜，取件码 38291，请及时取件。";
    assert_eq!(
        d.screen(request(SF, "13800138000", notice)).await.verdict(),
        Verdict::Release
    );
    let held = d.screen(request(SF, "13800138001", notice)).await;
    assert_eq!(held.verdict(), Verdict::Hold, "{held:?}");
    assert_eq!(reasons(&held), vec![ReasonCode::ReasonPortQuota]);
    assert_eq!(held.smpp_status, 0x58);
    d.clock.advance(Duration::from_millis(500));
    assert_eq!(
        d.screen(request(SF, "13800138002", notice)).await.verdict(),
        Verdict::Release
    );

    // Segments: a port with a 16-segment/s quota takes two 8-segment notices at once, not a third.
    let long = format!(
        "【招商银行】{}",
        "尊敬的客户，您本月的信用卡账单已出，应还金额3250元，还款日12月5日，详询95555。".repeat(11)
    );
    let first = d.screen(request(CMB, "13800138003", &long)).await;
    assert_eq!(first.segments, 8, "{first:?}");
    assert_eq!(first.verdict(), Verdict::Release, "{first:?}");
    assert_eq!(
        d.screen(request(CMB, "13800138004", &long)).await.verdict(),
        Verdict::Release
    );
    let third = d.screen(request(CMB, "13800138005", &long)).await;
    assert_eq!(
        reasons(&third),
        vec![ReasonCode::ReasonPortQuota],
        "{third:?}"
    );
    d.clock.advance(Duration::from_secs(1));
    assert_eq!(
        d.screen(request(CMB, "13800138006", &long)).await.verdict(),
        Verdict::Release
    );
    // Other ports are not limited.
    assert_eq!(
        d.screen(request(JD, "13800138007", CODE)).await.verdict(),
        Verdict::Release
    );
    d.stop().await;
}
