//! Long SMS through the real daemon, with parts built by an SMPP library no one here wrote
//! (python-smpplib: `make_parts` splits, `submit_sm` PDUs are generated and parsed back as an
//! SMSC would). Each test compares the whole decision, the text the audit kept and the segment
//! count with what the library split.

use std::time::Duration;

use portcullis::clock::Clock;
use portcullis::proto::compliance_client::ComplianceClient;
use portcullis::proto::{self, Decision, ReasonCode, ScreenRequest, Verdict};
use serde::Deserialize;

use crate::util::*;

const SUB: &str = "13800138000";

#[derive(Debug, Deserialize)]
struct Split {
    text: String,
    data_coding: u32,
    parts: Vec<Part>,
}

#[derive(Debug, Deserialize)]
struct Part {
    short_message: String,
    data_coding: u32,
    udhi: bool,
}

/// The venv `scripts/test` makes (or `PORTCULLIS_SMPP_PYTHON`).
fn python() -> std::path::PathBuf {
    let path = std::env::var_os("PORTCULLIS_SMPP_PYTHON")
        .map(Into::into)
        .unwrap_or_else(|| repo_path("target/smpp-venv/bin/python"));
    assert!(
        path.exists(),
        "{} not found: run scripts/test, which makes a venv with smpplib there \
         (or set PORTCULLIS_SMPP_PYTHON to a python with smpplib 2.2)",
        path.display()
    );
    path
}

/// Splits each text into SMPP parts with smpplib.
fn smpp_split(texts: &[&str]) -> Vec<Split> {
    use std::io::Write;
    let mut child = std::process::Command::new(python())
        .arg(repo_path("tests/it/fixtures/smpp_parts.py"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(texts).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "smpp_parts.py failed");
    let splits: Vec<Split> = serde_json::from_slice(&out.stdout).unwrap();
    for (split, text) in splits.iter().zip(texts) {
        assert_eq!(split.text, *text, "smpplib saw the text we sent");
    }
    splits
}

/// The gateway's requests for one split message: what it got from the ESME, passed through.
fn part_requests(port: &str, split: &Split) -> Vec<ScreenRequest> {
    split
        .parts
        .iter()
        .map(|p| ScreenRequest {
            text: String::new(),
            raw_payload: hex::decode(&p.short_message).unwrap(),
            data_coding: p.data_coding,
            udhi: p.udhi,
            ..request(port, SUB, "")
        })
        .collect()
}

async fn daemon(extra: &str) -> TestDaemon {
    let senders = std::fs::read_to_string(repo_path("config/senders.toml")).unwrap();
    TestDaemon::start_with(DaemonOptions {
        config: Some(format!(
            "[audit]\ndecisions = \"all\"\n[files]\nsenders = \"senders.toml\"\n{extra}"
        )),
        files: vec![("senders.toml".into(), senders)],
        ..Default::default()
    })
    .await
}

fn assert_pending(d: &Decision, deadline: i64) {
    assert_eq!(d.verdict(), Verdict::Hold, "{d:?}");
    assert_eq!(reasons(d), vec![ReasonCode::ReasonConcatPending]);
    assert_eq!(d.hold_until.unwrap().seconds, deadline);
    assert_eq!(d.smpp_status, 0x58, "holds answer ESME_RTHROTTLED");
    assert!(d.part_message_ids.is_empty());
}

/// The audit record of a decision, as compliance staff read it.
async fn audited(d: &TestDaemon, message_id: &str) -> proto::DecisionRecord {
    let channel = d.channel().await;
    let mut compliance = ComplianceClient::new(channel);
    for _ in 0..100 {
        let mut stream = compliance
            .decisions(proto::DecisionQuery {
                message_id: message_id.to_owned(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        if let Some(r) = stream.message().await.unwrap() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no audit record for {message_id}");
}

/// Screens parts in the given order; every part but the last to arrive is pending.
async fn send(d: &TestDaemon, reqs: &[ScreenRequest], order: &[usize]) -> Decision {
    let deadline = d.clock.now().as_second() + 60;
    let (last, first) = order.split_last().unwrap();
    for &i in first {
        assert_pending(&d.screen(reqs[i].clone()).await, deadline);
    }
    d.screen(reqs[*last].clone()).await
}

/// Checks the whole decision, its answer to every part, the audited text and the segments.
async fn assert_whole(d: &TestDaemon, split: &Split, reqs: &[ScreenRequest], whole: &Decision) {
    let ids: Vec<String> = reqs.iter().map(|r| r.message_id.clone()).collect();
    assert_ne!(whole.verdict(), Verdict::Unspecified);
    assert!(
        !reasons(whole).contains(&ReasonCode::ReasonConcatPending),
        "{whole:?}"
    );
    assert_eq!(whole.part_message_ids, ids);
    assert_eq!(
        whole.segments as usize,
        split.parts.len(),
        "segments as the library split them"
    );
    for req in reqs {
        let again = d.screen(req.clone()).await;
        assert_eq!(again.message_id, req.message_id);
        assert_eq!(again.decision_id, whole.decision_id);
        assert_eq!(again.verdict, whole.verdict);
        assert_eq!(again.part_message_ids, ids);
    }
    // The whole text as one plain request scores exactly as the reassembled one did.
    let plain = d
        .screen(ScreenRequest {
            dry_run: true,
            ..request(&reqs[0].sender_port, SUB, &split.text)
        })
        .await;
    assert_eq!(plain.spam_score, whole.spam_score, "{plain:?} {whole:?}");
    assert_eq!(plain.symbols, whole.symbols);
    assert_eq!(plain.category, whole.category);
    let record = audited(d, &ids[0]).await;
    let request = record.request.unwrap();
    if whole.category() == proto::Category::Verification {
        assert!(request.text.is_empty(), "a code's text is never stored");
    } else {
        assert_eq!(request.text, split.text, "the reassembled text");
    }
    assert_eq!(request.concat.unwrap().total as usize, split.parts.len());
    assert_eq!(record.decision.unwrap().decision_id, whole.decision_id);
}

#[tokio::test]
async fn gsm_parts_in_order_make_one_decision_even_with_an_escape_split_across_parts() {
    // 152 septets, then `€` (ESC + 0x65) straddles the 153-septet part boundary.
    let mut lead = "Flash SALE this weekend only: 50% off all shoes and bags in our Beijing \
                    stores, members get an extra voucher, visit shop.example.cn now"
        .to_owned();
    while lead.len() < 152 {
        lead.push('.');
    }
    let text = format!(
        "{lead}€ and {{braces}} [brackets] ~tilde~ |pipe| ^caret^ \\backslash\\ cost EUR 12, \
         reply T to unsubscribe. Hurry, the offer ends Sunday while stocks last!"
    );
    assert_eq!(
        text.chars().position(|c| c == '€'),
        Some(152),
        "the escape must straddle the boundary"
    );
    let splits = smpp_split(&[&text]);
    let split = &splits[0];
    assert_eq!(split.data_coding, 0, "GSM 7-bit");
    assert!(split.parts.len() >= 2, "{split:?}");
    // smpplib splits by octets, so the escape really is split.
    assert!(split.parts[0].short_message.ends_with("1b"), "{split:?}");
    let d = daemon("").await;
    let reqs = part_requests(SF, split);
    let order: Vec<usize> = (0..reqs.len()).collect();
    let whole = send(&d, &reqs, &order).await;
    assert_whole(&d, split, &reqs, &whole).await;
    let scrape = d.scrape().await;
    assert!(
        metric_value(
            &scrape,
            "portcullis_concat_messages_total",
            &["outcome=\"completed\""]
        ) >= 1.0
    );
    assert!(metric_value(&scrape, "portcullis_segments_total", &[]) >= split.parts.len() as f64);
    d.stop().await;
}

#[tokio::test]
async fn ucs2_chinese_and_emoji_out_of_order_make_one_decision() {
    // 66 units, then an emoji whose surrogate pair straddles the 67-unit part boundary.
    let lead: String =
        "【京东】尊敬的用户：您在京东购买的商品已完成打包出库，快递员将在明天上午九点到\
                        十二点之间送货上门，如您不方便收货可在京东App内修改送货时间"
            .chars()
            .take(66)
            .collect();
    let text = format!(
        "{lead}😀您的订单已由京东物流发出，预计明日送达，请保持电话畅通。本次配送无需支付任何费用，\
         如有疑问请致电京东客服950618，\
         或在京东App“我的订单”中查看物流详情与预计送达时间。感谢您的支持，祝您生活愉快！拒收请回复R，退订回T"
    );
    let units_before: usize = text
        .chars()
        .take_while(|c| *c != '😀')
        .map(char::len_utf16)
        .sum();
    assert_eq!(units_before, 66, "the emoji must straddle the boundary");
    let splits = smpp_split(&[&text]);
    let split = &splits[0];
    assert_eq!(split.data_coding, 8, "UCS-2");
    assert!(split.parts.len() >= 3, "{split:?}");
    let d = daemon("").await;
    let reqs = part_requests(JD, split);
    let mut order: Vec<usize> = (0..reqs.len()).rev().collect();
    order.swap(0, 1);
    let whole = send(&d, &reqs, &order).await;
    assert_whole(&d, split, &reqs, &whole).await;
    assert_eq!(whole.category(), proto::Category::Service, "{whole:?}");
    d.stop().await;
}

#[tokio::test]
async fn a_missing_part_ends_every_received_part_with_concat_incomplete() {
    let text = format!(
        "【顺丰速运】{}",
        "您的快件SF1234567890已到达北京朝阳营业部，快递员王师傅（电话13912345678）将于今日下午派送，如需改约请在顺丰App操作。".repeat(3)
    );
    let splits = smpp_split(&[&text]);
    let split = &splits[0];
    assert!(split.parts.len() >= 3, "{split:?}");
    let d = daemon("").await;
    let reqs = part_requests(SF, split);
    let deadline = d.clock.now().as_second() + 60;
    let sent: Vec<&ScreenRequest> = reqs
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, r)| r)
        .collect();
    for req in &sent {
        assert_pending(&d.screen((*req).clone()).await, deadline);
    }
    // Before the deadline a retry gets the same hold.
    let retry = d.screen(sent[0].clone()).await;
    assert_pending(&retry, deadline);
    d.clock.advance(Duration::from_secs(61));
    let first = d.screen(sent[0].clone()).await;
    assert_eq!(first.verdict(), Verdict::Reject, "{first:?}");
    assert_eq!(reasons(&first), vec![ReasonCode::ReasonConcatIncomplete]);
    assert_eq!(first.smpp_status, 0x45, "ESME_RSUBMITFAIL");
    let ids: Vec<String> = sent.iter().map(|r| r.message_id.clone()).collect();
    assert_eq!(first.part_message_ids, ids);
    let received: Vec<String> = (1..=split.parts.len())
        .filter(|s| *s != 2)
        .map(|s| s.to_string())
        .collect();
    assert!(
        first.reasons[0].detail.contains(&format!(
            "{} of {}",
            received.join(", "),
            split.parts.len()
        )),
        "{first:?}"
    );
    for req in &sent[1..] {
        let other = d.screen((*req).clone()).await;
        assert_eq!(other.decision_id, first.decision_id);
        assert_eq!(other.message_id, req.message_id);
    }
    let record = audited(&d, &ids[0]).await;
    assert_eq!(record.decision.unwrap().decision_id, first.decision_id);
    assert!(
        record.request.unwrap().text.contains("顺丰速运"),
        "the audit keeps what the received parts said"
    );
    // The part that never came, arriving late, starts a new message (it alone cannot complete it).
    let late = d.screen(reqs[1].clone()).await;
    assert_eq!(reasons(&late), vec![ReasonCode::ReasonConcatPending]);
    let scrape = d.scrape().await;
    assert!(
        metric_value(
            &scrape,
            "portcullis_concat_messages_total",
            &["outcome=\"incomplete\""]
        ) >= 1.0
    );
    d.stop().await;
}

#[tokio::test]
async fn the_sweeper_ends_a_message_whose_gateway_never_comes_back() {
    let d = daemon("").await;
    let part = |seq: u32, text: &str| ScreenRequest {
        concat: Some(proto::Concat {
            reference: 4242,
            total: 2,
            seq,
        }),
        ..request(SF, SUB, text)
    };
    let first = part(1, "【顺丰速运】您的快件SF1234567890已到达北京朝阳营业部，");
    assert_eq!(
        reasons(&d.screen(first.clone()).await),
        vec![ReasonCode::ReasonConcatPending]
    );
    d.clock.advance(Duration::from_secs(61));
    // The sweeper (every second) gives the message up on its own and stores the REJECT.
    let record = audited(&d, &first.message_id).await;
    let decision = record.decision.unwrap();
    assert_eq!(decision.verdict(), Verdict::Reject);
    assert_eq!(reasons(&decision), vec![ReasonCode::ReasonConcatIncomplete]);
    let answer = d.screen(first.clone()).await;
    assert_eq!(answer.decision_id, decision.decision_id);
    d.stop().await;
}

#[tokio::test]
async fn the_cap_on_pending_parts_gives_up_the_oldest_message_and_says_so() {
    let d = daemon("[concat]\nmax_pending_parts = 16\n").await;
    let firsts: Vec<ScreenRequest> = (0..17)
        .map(|reference| ScreenRequest {
            concat: Some(proto::Concat {
                reference,
                total: 2,
                seq: 1,
            }),
            ..request(SF, SUB, "【顺丰速运】您的快件已到达营业部，")
        })
        .collect();
    for req in &firsts {
        assert_eq!(
            reasons(&d.screen(req.clone()).await),
            vec![ReasonCode::ReasonConcatPending]
        );
    }
    let oldest = d.screen(firsts[0].clone()).await;
    assert_eq!(reasons(&oldest), vec![ReasonCode::ReasonConcatIncomplete]);
    assert!(
        oldest.reasons[0].detail.contains("max_pending_parts"),
        "{oldest:?}"
    );
    // Only the oldest was given up: every later message still holds its part.
    for req in &firsts[1..] {
        let again = d.screen(req.clone()).await;
        assert_eq!(reasons(&again), vec![ReasonCode::ReasonConcatPending]);
    }
    let scrape = d.scrape().await;
    assert!(
        metric_value(
            &scrape,
            "portcullis_concat_messages_total",
            &["outcome=\"evicted\""]
        ) >= 1.0
    );
    // The gauge is process-wide and the other tests' daemons set it too, so only its presence is
    // checked here; its exact count at the cap is asserted in reassembly's unit tests.
    assert!(
        scrape
            .lines()
            .any(|l| l.starts_with("portcullis_concat_parts_pending ")),
        "{scrape}"
    );
    d.stop().await;
}

#[tokio::test]
async fn text_parts_and_a_dry_run_follow_the_same_rules() {
    let d = daemon("").await;
    let part = |seq: u32, text: &str| ScreenRequest {
        concat: Some(proto::Concat {
            reference: 7,
            total: 2,
            seq,
        }),
        ..request(JD, SUB, text)
    };
    // Each half looks harmless; the whole is a loan advertisement without consent.
    let one = part(1, "【京东】尊敬的用户，您有一笔额度待领取：无抵押");
    let two = part(2, "贷款秒批，日息低至0.02%，点击 jd.cn/d 立即提现，退订回T");
    let dry = d
        .screen(ScreenRequest {
            dry_run: true,
            ..two.clone()
        })
        .await;
    assert_eq!(reasons(&dry), vec![ReasonCode::ReasonConcatPending]);
    assert!(dry.decision_id.is_empty(), "a dry run is not a decision");
    assert_eq!(
        reasons(&d.screen(one.clone()).await),
        vec![ReasonCode::ReasonConcatPending]
    );
    let whole = d.screen(two.clone()).await;
    assert_eq!(whole.verdict(), Verdict::Reject, "{whole:?}");
    assert_eq!(
        whole.category(),
        proto::Category::LoanMarketing,
        "{whole:?}"
    );
    assert_eq!(
        whole.part_message_ids,
        vec![one.message_id.clone(), two.message_id.clone()]
    );
    // A different text under a part's message id is refused, as for any message.
    let reused = d
        .screen_status(ScreenRequest {
            text: "something else".into(),
            ..one.clone()
        })
        .await
        .unwrap_err();
    assert_eq!(reused.code(), tonic::Code::InvalidArgument);
    d.stop().await;
}

#[tokio::test]
async fn a_single_raw_message_is_decoded_and_counted_in_its_own_coding() {
    let gsm = "Your order 8812 ships today: pick up at locker {A-12}, fee EUR 2 (~15 CNY).";
    let ucs2 = "【京东】您的订单8812已发货😀，请到A-12号柜取件，退订回T";
    let splits = smpp_split(&[gsm, ucs2]);
    let d = daemon("").await;
    for (split, coding) in splits.iter().zip([0, 8]) {
        assert_eq!(split.data_coding, coding);
        assert_eq!(split.parts.len(), 1);
        assert!(!split.parts[0].udhi, "one part has no UDH");
        let req = part_requests(JD, split).remove(0);
        let decision = d.screen(req).await;
        assert!(
            !reasons(&decision).contains(&ReasonCode::ReasonConcatPending),
            "{decision:?}"
        );
        assert_eq!(decision.segments, 1);
        assert!(decision.part_message_ids.is_empty());
        let plain = d
            .screen(ScreenRequest {
                dry_run: true,
                ..request(JD, SUB, &split.text)
            })
            .await;
        assert_eq!(plain.spam_score, decision.spam_score);
        assert_eq!(plain.symbols, decision.symbols);
    }
    d.stop().await;
}
