//! ScreenStream: answers in request order, malformed messages answered in place, the stream goes on.

use portcullis::proto::{ReasonCode, Verdict};
use tokio_stream::StreamExt;

use crate::util::*;

#[tokio::test]
async fn stream_keeps_order_over_ten_thousand_messages() {
    let d = TestDaemon::start().await;
    const N: usize = 10_000;
    let texts = [
        "【招商银行】您的验证码是{n}，5分钟内有效，请勿泄露。",
        "【顺丰速运】您的快件{n}已到达驿站，请凭取件码取件。",
        "【京东】双11福利{n}：家电满300减50，领券 jd.com/s 退订回T",
    ];
    let requests: Vec<_> = (0..N)
        .map(|i| {
            let port = [CMB, SF, JD][i % 3];
            let msisdn = format!("139{:08}", i);
            let mut req = request(
                port,
                &msisdn,
                &texts[i % 3].replace("{n}", &format!("{:06}", i)),
            );
            req.message_id = format!("stream-{i}");
            if i % 1000 == 999 {
                req.msisdn = "not-a-number".into();
            }
            req
        })
        .collect();
    let outbound = tokio_stream::iter(requests.clone());
    let mut inbound = d
        .client
        .clone()
        .screen_stream(outbound)
        .await
        .unwrap()
        .into_inner();
    let mut seen = 0usize;
    while let Some(decision) = inbound.next().await {
        let decision = decision.unwrap();
        assert_eq!(
            decision.message_id, requests[seen].message_id,
            "answer {seen} out of order"
        );
        if seen % 1000 == 999 {
            assert_eq!(decision.verdict(), Verdict::Reject);
            assert_eq!(decision.reasons[0].code(), ReasonCode::ReasonMalformed);
            assert!(
                decision.reasons[0].detail.starts_with("msisdn:"),
                "{decision:?}"
            );
            assert_eq!(decision.smpp_status, 0x0B);
        } else if seen % 3 == 2 {
            assert_eq!(
                decision.verdict(),
                Verdict::Reject,
                "marketing without consent: {decision:?}"
            );
        } else {
            assert_eq!(decision.verdict(), Verdict::Release, "{decision:?}");
        }
        seen += 1;
    }
    assert_eq!(seen, N);
    d.stop().await;
}

#[tokio::test]
async fn a_slow_reader_slows_the_writer_instead_of_growing_memory() {
    let d = TestDaemon::start().await;
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let mut inbound = d
        .client
        .clone()
        .screen_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    // Without reading any answer, the daemon stops taking requests after its bounded buffers fill.
    let mut sent = 0usize;
    let writer = async {
        loop {
            let req = request(
                CMB,
                "13800138000",
                "【招商银行】您的验证码是123456，请勿泄露。",
            );
            if tx.send(req).await.is_err() {
                break;
            }
            sent += 1;
        }
    };
    let stalled = tokio::time::timeout(std::time::Duration::from_secs(3), writer).await;
    assert!(stalled.is_err(), "the writer was never slowed down");
    assert!(
        sent < 200_000,
        "the daemon buffered {sent} requests for a reader that never read"
    );
    // Once the reader reads, everything sent is answered.
    let mut answered = 0usize;
    drop(tx);
    while let Some(d) = inbound.next().await {
        d.unwrap();
        answered += 1;
    }
    assert_eq!(answered, sent);
    d.stop().await;
}
