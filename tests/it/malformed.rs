//! No input panics the daemon: property tests over arbitrary requests, in-process and over gRPC.

use std::sync::{Arc, OnceLock};

use portcullis::clock::ManualClock;
use portcullis::config::{self, ConfigSource};
use portcullis::metrics::Metrics;
use portcullis::pipeline::screen::LiveState;
use portcullis::proto::{Concat, ReasonCode, ScreenRequest, Verdict};
use portcullis::registry::InMemoryRegistry;
use portcullis::screening::Screener;
use portcullis::throttle::region::RegionThrottle;
use proptest::prelude::*;

use crate::util::*;

fn screener() -> &'static Screener {
    static SCREENER: OnceLock<Screener> = OnceLock::new();
    SCREENER.get_or_init(|| {
        let config = config::load(&ConfigSource::default(), &regions()).unwrap();
        Screener::new(
            config.snapshot,
            LiveState::new(
                Arc::new(InMemoryRegistry::new()),
                Arc::new(RegionThrottle::new(
                    config.throttles.clone(),
                    regions().provinces().map(str::to_owned),
                    Arc::new(ManualClock::new(office_hours())),
                )),
            ),
            Arc::new(ManualClock::new(office_hours())),
            Metrics::register(),
        )
    })
}

fn text_strategy() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,300}",
        "【[京东招商银行x ]{0,14}】[\\PC]{0,80}(退订回T)?",
        "[\u{200b}\u{ff10}-\u{ff5a}①-⑳〇壹贰微信V加薇 0-9a-z:/.]{0,120}",
        Just("长".repeat(2001)),
    ]
}

fn request_strategy() -> impl Strategy<Value = ScreenRequest> {
    (
        "[a-z0-9-]{0,40}",
        prop_oneof!["106[0-9]{4,10}", "[0-9]{0,25}", ".{0,10}"],
        prop_oneof!["1[3-9][0-9]{9}", "(\\+86|86|0086)?1[0-9]{10}", ".{0,16}"],
        text_strategy(),
        proptest::option::of((0u32..70_000, 0u32..20, 0u32..20)),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..8),
            // UDH-shaped: a concatenation IE with a small reference, then a body.
            (
                0u8..3,
                1u8..4,
                0u8..5,
                proptest::collection::vec(any::<u8>(), 0..40)
            )
                .prop_map(|(reference, total, seq, body)| {
                    [&[0x05, 0x00, 0x03, reference, total, seq][..], &body].concat()
                }),
        ],
        any::<bool>(),
        prop_oneof![Just(0u32), Just(8u32), 0u32..10],
        any::<bool>(),
    )
        .prop_map(
            |(
                message_id,
                sender_port,
                msisdn,
                text,
                concat,
                raw_payload,
                dry_run,
                data_coding,
                udhi,
            )| {
                ScreenRequest {
                    message_id,
                    sender_port,
                    msisdn,
                    text,
                    concat: concat.map(|(reference, total, seq)| Concat {
                        reference,
                        total,
                        seq,
                    }),
                    raw_payload,
                    dry_run,
                    data_coding,
                    udhi,
                    ..Default::default()
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_request_gets_a_decision_or_a_named_field(req in request_strategy()) {
        match screener().screen(&req) {
            Ok((decision, _persist)) => {
                prop_assert_eq!(&decision.message_id, &req.message_id);
                prop_assert!(decision.verdict() != Verdict::Unspecified);
                prop_assert!((0.0..=1.0).contains(&decision.spam_score));
                if decision.verdict() == Verdict::Hold {
                    prop_assert!(decision.hold_until.is_some());
                }
            }
            Err(e) => {
                let malformed = screener().malformed_decision(&req, &e);
                prop_assert_eq!(malformed.verdict(), Verdict::Reject);
                prop_assert_eq!(malformed.reasons[0].code(), ReasonCode::ReasonMalformed);
                let detail = &malformed.reasons[0].detail;
                prop_assert!(detail.starts_with(e.field()), "{}", detail);
            }
        }
    }
}

#[tokio::test]
async fn the_daemon_survives_a_burst_of_arbitrary_requests_on_both_rpcs() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let d = TestDaemon::start().await;
    let mut runner = TestRunner::deterministic();
    let strategy = request_strategy();
    let requests: Vec<ScreenRequest> = (0..300)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    for req in &requests {
        if let Err(status) = d.screen_status(req.clone()).await {
            assert_eq!(
                status.code(),
                tonic::Code::InvalidArgument,
                "{req:?}: {status:?}"
            );
        }
    }
    let mut answers = d
        .client
        .clone()
        .screen_stream(tokio_stream::iter(requests.clone()))
        .await
        .unwrap()
        .into_inner();
    let mut n = 0;
    while let Some(answer) = answers.message().await.unwrap() {
        assert_eq!(answer.message_id, requests[n].message_id);
        n += 1;
    }
    assert_eq!(n, requests.len());
    let ok = d
        .screen(request(
            CMB,
            "13800138000",
            "【招商银行】您的验证码是123456，请勿泄露。",
        ))
        .await;
    assert_eq!(ok.verdict(), Verdict::Release);
    d.stop().await;
}
