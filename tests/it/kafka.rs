//! The Kafka edge against a real Kafka-protocol broker (tansu, started by `scripts/test` at
//! `PORTCULLIS_KAFKA_BROKERS`), with the daemon as a separate process and rdkafka as the gateway.
//! Every test uses topics and groups of its own, so tests share the broker but not records.
//! The crash test also runs against librdkafka's mock cluster, a second Kafka-protocol broker (see
//! `a_crash_mid_stream_loses_nothing_on_librdkafkas_mock_cluster`).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use prost::Message as _;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};

use portcullis::proto::{
    self, Concat, Decision, DecisionRecord, ReasonCode, ScreenRequest, ScreenResult, Verdict,
};

use crate::util::*;

pub(crate) fn brokers() -> String {
    std::env::var("PORTCULLIS_KAFKA_BROKERS").expect(
        "PORTCULLIS_KAFKA_BROKERS is not set: run scripts/test, which starts a Kafka-protocol \
         broker (tansu) and sets it",
    )
}

/// Topic names of one test and the broker they live on (tansu does not create topics: tests do).
pub(crate) struct Topics {
    prefix: String,
    pub(crate) brokers: String,
}

impl Topics {
    /// On the test broker (`PORTCULLIS_KAFKA_BROKERS`).
    pub(crate) fn new(test: &str) -> Topics {
        Topics::on(test, brokers())
    }

    pub(crate) fn on(test: &str, brokers: String) -> Topics {
        Topics {
            prefix: format!("t{}-{test}", uuid::Uuid::now_v7().simple()),
            brokers,
        }
    }

    pub(crate) fn name(&self, topic: &str) -> String {
        format!("{}.{topic}", self.prefix)
    }

    /// Every topic of the daemon's `[kafka.topics]` with its partition count.
    fn layout(&self, submit_partitions: i32) -> Vec<(String, i32)> {
        [
            ("submit", submit_partitions),
            ("released", 2),
            ("rejected", 2),
            ("held", 2),
            ("dead-letter", 1),
            ("mo", 1),
            ("complaints", 1),
            ("decisions", 1),
        ]
        .into_iter()
        .map(|(t, p)| (self.name(t), p))
        .collect()
    }

    pub(crate) async fn create(&self, submit_partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create()
            .unwrap();
        let names = self.layout(submit_partitions);
        let new: Vec<NewTopic<'_>> = names
            .iter()
            .map(|(n, p)| NewTopic::new(n, *p, TopicReplication::Fixed(1)))
            .collect();
        for result in admin
            .create_topics(&new, &AdminOptions::new())
            .await
            .unwrap()
        {
            result.unwrap();
        }
    }

    /// A config file naming this test's topics (the repo's senders, rules and throttles);
    /// `extra` follows the `[kafka]` tables.
    fn config(&self, dir: &Path, extra: &str) -> String {
        let repo = repo_path("config");
        let text = format!(
            r#"[files]
senders = "{repo}/senders.toml"
rules = "{repo}/rules.toml"
throttles = "{repo}/throttles.toml"

[concat]
timeout_secs = 2

{kafka}
{extra}
"#,
            repo = repo.display(),
            kafka = self.kafka_section(dir),
        );
        let path = dir.join("portcullis.toml");
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// The `[kafka]` and `[kafka.topics]` tables naming this test's topics, with a hash key
    /// written into `dir`.
    pub(crate) fn kafka_section(&self, dir: &Path) -> String {
        let key = dir.join("msisdn.key");
        std::fs::write(&key, "test-key-0123456789abcdef\n").unwrap();
        format!(
            r#"[kafka]
group = "{prefix}"
msisdn_hash_key_file = "{key}"

[kafka.topics]
submit = "{prefix}.submit"
released = "{prefix}.released"
rejected = "{prefix}.rejected"
held = "{prefix}.held"
dead_letter = "{prefix}.dead-letter"
mo = "{prefix}.mo"
complaints = "{prefix}.complaints"
decisions = "{prefix}.decisions"
"#,
            prefix = self.prefix,
            key = key.display(),
        )
    }
}

fn spawn(brokers: &str, data: &Path, config: &str) -> DaemonProcess {
    DaemonProcess::spawn_with(data, &["--config", config, "--kafka-brokers", brokers])
}

/// A gateway's producer on the test broker.
pub(crate) fn producer() -> FutureProducer {
    producer_on(&brokers())
}

fn producer_on(brokers: &str) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        // Small record batches: tansu 0.6.0 has been seen to lose the tail of a large batch when a
        // consumer's fetch starts inside it or is cut at max.partition.fetch.bytes.
        .set("batch.size", "65536")
        .create()
        .unwrap()
}

pub(crate) fn protobuf() -> OwnedHeaders {
    OwnedHeaders::new().insert(Header {
        key: "content-type",
        value: Some("application/x-protobuf"),
    })
}

pub(crate) async fn send(
    p: &FutureProducer,
    topic: &str,
    key: &str,
    value: &[u8],
    headers: OwnedHeaders,
) {
    p.send(
        FutureRecord::to(topic)
            .key(key)
            .payload(value)
            .headers(headers),
        Duration::from_secs(10),
    )
    .await
    .unwrap();
}

/// Produces many records without waiting for each ack in turn.
async fn send_all(p: &FutureProducer, topic: &str, records: &[(String, Vec<u8>)]) {
    for chunk in records.chunks(5000) {
        let sends = chunk.iter().map(|(key, value)| {
            p.send(
                FutureRecord::to(topic)
                    .key(key.as_str())
                    .payload(value.as_slice())
                    .headers(protobuf()),
                Duration::from_secs(30),
            )
        });
        for r in futures::future::join_all(sends).await {
            r.unwrap();
        }
    }
}

/// A record read back: key, value, headers.
#[derive(Debug, Clone)]
struct Got {
    topic: String,
    key: Vec<u8>,
    value: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| std::str::from_utf8(v).unwrap())
    }

    fn result(&self) -> ScreenResult {
        if self.header("content-type") == Some("application/json") {
            let v: serde_json::Value = serde_json::from_slice(&self.value).unwrap();
            let d = &v["decision"];
            let verdict = match d["verdict"].as_str().unwrap_or("") {
                "VERDICT_RELEASE" => Verdict::Release,
                "VERDICT_HOLD" => Verdict::Hold,
                _ => Verdict::Reject,
            };
            ScreenResult {
                request: Some(ScreenRequest {
                    message_id: v["request"]["messageId"].as_str().unwrap().to_owned(),
                    ..Default::default()
                }),
                decision: Some(Decision {
                    message_id: d["messageId"].as_str().unwrap().to_owned(),
                    verdict: verdict as i32,
                    decision_id: d["decisionId"].as_str().unwrap_or("").to_owned(),
                    ..Default::default()
                }),
            }
        } else {
            ScreenResult::decode(self.value.as_slice()).unwrap()
        }
    }
}

/// Reads `topics` from the beginning (a group of its own) until `done` says so or `timeout`.
fn read_until(
    brokers: &str,
    topics: &[String],
    timeout: Duration,
    mut done: impl FnMut(&[Got]) -> bool,
) -> Vec<Got> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("reader-{}", uuid::Uuid::now_v7()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        // A producer batch can come close to librdkafka's 1 MB default per partition; room for it.
        .set("max.partition.fetch.bytes", "16777216")
        .set("fetch.max.bytes", "67108864")
        .set("receive.message.max.bytes", "100000000")
        .create()
        .unwrap();
    // Every partition assigned by hand, from the beginning: a group subscription would depend on
    // the test broker's group coordinator (tansu 0.6.0 can leave a partition unassigned after a
    // member dies), and this reader must see everything that was produced.
    let mut partitions = rdkafka::TopicPartitionList::new();
    for topic in topics {
        let metadata = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .unwrap();
        for t in metadata.topics() {
            for p in t.partitions() {
                partitions
                    .add_partition_offset(topic, p.id(), rdkafka::Offset::Beginning)
                    .unwrap();
            }
        }
    }
    assert!(partitions.count() > 0, "no partitions for {topics:?}");
    consumer.assign(&partitions).unwrap();
    let mut got = Vec::new();
    let deadline = Instant::now() + timeout;
    let mut since_check = 0;
    while Instant::now() < deadline {
        if since_check < 5000
            && let Some(Ok(m)) = consumer.poll(Duration::from_millis(100))
        {
            since_check += 1;
            got.push(Got {
                topic: m.topic().to_owned(),
                key: m.key().unwrap_or_default().to_vec(),
                value: m.payload().unwrap_or_default().to_vec(),
                headers: m
                    .headers()
                    .map(|h| {
                        h.iter()
                            .map(|h| (h.key.to_owned(), h.value.unwrap_or_default().to_vec()))
                            .collect()
                    })
                    .unwrap_or_default(),
            });
            continue;
        }
        since_check = 0;
        if done(&got) {
            break;
        }
    }
    got
}

fn verification(id: &str, msisdn: &str, code: u32) -> ScreenRequest {
    ScreenRequest {
        message_id: id.to_owned(),
        ..request(
            CMB,
            msisdn,
            &format!("【招商银行】您的验证码是{code:06}，5分钟内有效，请勿泄露。"),
        )
    }
}

fn msisdn(i: usize) -> String {
    format!("139{:08}", i % 100_000_000)
}

/// Final decisions per message id (released + rejected), from records read back.
fn finals(got: &[Got], topics: &Topics) -> HashMap<String, Vec<Decision>> {
    let (released, rejected) = (topics.name("released"), topics.name("rejected"));
    let mut by_id: HashMap<String, Vec<Decision>> = HashMap::new();
    for g in got
        .iter()
        .filter(|g| g.topic == released || g.topic == rejected)
    {
        let r = g.result();
        let d = r.decision.unwrap();
        by_id.entry(d.message_id.clone()).or_default().push(d);
    }
    by_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_dead_letters_holds_and_feeds_through_a_real_broker() {
    let topics = Topics::new("flow");
    topics.create(3).await;
    let dir = tempfile::tempdir().unwrap();
    let config = topics.config(dir.path(), "");
    let daemon = spawn(&topics.brokers, &dir.path().join("data"), &config);
    let p = producer();
    let submit = topics.name("submit");

    // Good protobuf records, JSON records, an unknown port (REJECT), bad records in between.
    for i in 0..100 {
        let req = verification(&format!("pb-{i}"), &msisdn(i), i as u32);
        send(&p, &submit, &req.msisdn, &req.encode_to_vec(), protobuf()).await;
        if i == 10 {
            send(&p, &submit, "x", b"\xff\xfe not a protobuf", protobuf()).await;
            let bad = ScreenRequest {
                msisdn: "12345".into(),
                ..verification("bad-msisdn", "", 1)
            };
            send(
                &p,
                &submit,
                "12345",
                &bad.encode_to_vec(),
                OwnedHeaders::new(),
            )
            .await;
            let plain = OwnedHeaders::new().insert(Header {
                key: "content-type",
                value: Some("text/plain"),
            });
            send(&p, &submit, "y", b"hello", plain).await;
        }
    }
    for i in 0..10 {
        let json = serde_json::json!({
            "messageId": format!("json-{i}"),
            "senderPort": CMB,
            "msisdn": msisdn(1000 + i),
            "text": format!("【招商银行】您的验证码是{:06}，5分钟内有效。", 500 + i),
        });
        let h = OwnedHeaders::new().insert(Header {
            key: "content-type",
            value: Some("application/json"),
        });
        send(
            &p,
            &submit,
            &msisdn(1000 + i),
            json.to_string().as_bytes(),
            h,
        )
        .await;
    }
    for i in 0..5 {
        let req = ScreenRequest {
            message_id: format!("unknown-{i}"),
            ..request(
                "1069055555",
                &msisdn(2000 + i),
                "【某某】您好，您的订单已发货。",
            )
        };
        send(&p, &submit, &req.msisdn, &req.encode_to_vec(), protobuf()).await;
    }
    // A long message whose two parts both come (HOLD, then the final decision after the
    // deadline) and a part whose sibling never does (CONCAT_INCOMPLETE).
    let sub = msisdn(3000);
    for (seq, text) in [
        (1, "【招商银行】您的验证码是654321，"),
        (2, "5分钟内有效，请勿泄露。"),
    ] {
        let req = ScreenRequest {
            message_id: format!("long-{seq}"),
            concat: Some(Concat {
                reference: 42,
                total: 2,
                seq,
            }),
            ..request(CMB, &sub, text)
        };
        send(&p, &submit, &sub, &req.encode_to_vec(), protobuf()).await;
    }
    let orphan = ScreenRequest {
        message_id: "orphan-1".into(),
        concat: Some(Concat {
            reference: 43,
            total: 2,
            seq: 1,
        }),
        ..request(CMB, &sub, "【招商银行】您的账户")
    };
    send(&p, &submit, &sub, &orphan.encode_to_vec(), protobuf()).await;

    // Feeds: an opt-out reply and two complaints (one with a number that is no msisdn).
    let mo = proto::MoReply {
        msisdn: msisdn(4000),
        sender_port: CMB.into(),
        text: "TD".into(),
        received_at: None,
    };
    send(
        &p,
        &topics.name("mo"),
        &mo.msisdn,
        &mo.encode_to_vec(),
        protobuf(),
    )
    .await;
    let bad_complaint = proto::Complaint {
        msisdn: "not-a-number".into(),
        sender_port: CMB.into(),
        source: "12321".into(),
        ..Default::default()
    };
    send(
        &p,
        &topics.name("complaints"),
        "k",
        &bad_complaint.encode_to_vec(),
        protobuf(),
    )
    .await;

    let expected: HashSet<String> = (0..100)
        .map(|i| format!("pb-{i}"))
        .chain((0..10).map(|i| format!("json-{i}")))
        .chain((0..5).map(|i| format!("unknown-{i}")))
        .chain(["bad-msisdn", "long-1", "long-2", "orphan-1"].map(String::from))
        .collect();
    let read = ["released", "rejected", "held", "dead-letter", "decisions"].map(|t| topics.name(t));
    let got = read_until(&topics.brokers, &read, Duration::from_secs(90), |got| {
        let f = finals(got, &topics);
        expected.iter().all(|id| f.contains_key(id))
            && got
                .iter()
                .filter(|g| g.topic == topics.name("dead-letter"))
                .count()
                >= 4
    });
    let f = finals(&got, &topics);
    let missing: Vec<_> = expected.iter().filter(|id| !f.contains_key(*id)).collect();
    assert!(missing.is_empty(), "no final decision for {missing:?}");
    for (id, decisions) in &f {
        assert!(expected.contains(id), "unexpected message id {id}");
        assert_eq!(decisions.len(), 1, "{id}: {decisions:?}");
    }
    let verdict = |id: &str| Verdict::try_from(f[id][0].verdict).unwrap();
    for i in 0..100 {
        assert_eq!(verdict(&format!("pb-{i}")), Verdict::Release, "pb-{i}");
    }
    for i in 0..5 {
        let d = &f[&format!("unknown-{i}")][0];
        assert_eq!(d.reasons[0].code, ReasonCode::ReasonSenderUnknown as i32);
    }
    assert_eq!(verdict("long-1"), Verdict::Release);
    assert_eq!(verdict("long-2"), Verdict::Release);
    assert_eq!(
        f["long-1"][0].decision_id, f["long-2"][0].decision_id,
        "both parts carry the whole message's decision"
    );
    assert_eq!(
        f["orphan-1"][0].reasons[0].code,
        ReasonCode::ReasonConcatIncomplete as i32
    );
    assert_eq!(
        f["bad-msisdn"][0].reasons[0].code,
        ReasonCode::ReasonMalformed as i32
    );
    // JSON in, JSON out.
    let json_out = got
        .iter()
        .find(|g| g.topic == topics.name("released") && g.value.starts_with(b"{"))
        .expect("a JSON result");
    assert_eq!(json_out.header("content-type"), Some("application/json"));
    // The held part went through sms.held with its hold_until.
    let held: Vec<ScreenResult> = got
        .iter()
        .filter(|g| g.topic == topics.name("held"))
        .map(Got::result)
        .collect();
    assert!(
        held.iter().any(|r| {
            let d = r.decision.as_ref().unwrap();
            d.message_id == "long-1"
                && d.hold_until.is_some()
                && d.reasons[0].code == ReasonCode::ReasonConcatPending as i32
        }),
        "{held:?}"
    );

    // Dead letters: original bytes, key and headers, plus the cause.
    let dead: Vec<&Got> = got
        .iter()
        .filter(|g| g.topic == topics.name("dead-letter"))
        .collect();
    let undecodable = dead
        .iter()
        .find(|g| g.key == b"x")
        .expect("undecodable record");
    assert_eq!(undecodable.value, b"\xff\xfe not a protobuf");
    assert_eq!(
        undecodable.header("content-type"),
        Some("application/x-protobuf")
    );
    assert_eq!(
        undecodable.header("portcullis-reason"),
        Some("UNDECODABLE_PROTOBUF")
    );
    assert!(
        undecodable
            .header("portcullis-error")
            .unwrap()
            .contains("ScreenRequest")
    );
    let bad = dead.iter().find(|g| g.key == b"12345").expect("bad msisdn");
    assert_eq!(bad.header("portcullis-error-field"), Some("msisdn"));
    // The cause names the field but not the number (dead letters are read by people too).
    let cause = bad.header("portcullis-error").unwrap();
    assert!(
        cause.contains("msisdn") && !cause.contains("12345"),
        "{cause}"
    );
    let plain = dead.iter().find(|g| g.key == b"y").expect("text/plain");
    assert_eq!(plain.value, b"hello");
    assert_eq!(
        plain.header("portcullis-reason"),
        Some("UNSUPPORTED_CONTENT_TYPE")
    );
    let complaint = dead.iter().find(|g| g.key == b"k").expect("bad complaint");
    assert_eq!(
        complaint.header("portcullis-reason"),
        Some("INVALID_ARGUMENT")
    );

    // The audit topic: REJECTs are audited; the msisdn is a keyed hash, never the number.
    let audit: Vec<DecisionRecord> = got
        .iter()
        .filter(|g| g.topic == topics.name("decisions"))
        .map(|g| DecisionRecord::decode(g.value.as_slice()).unwrap())
        .collect();
    let unknown = audit
        .iter()
        .find(|r| r.request.as_ref().unwrap().message_id == "unknown-0")
        .expect("the REJECT is on the decisions topic");
    let hashed = &unknown.request.as_ref().unwrap().msisdn;
    assert_eq!(hashed.len(), 64, "{hashed}");
    assert_ne!(hashed, &msisdn(2000));
    assert!(unknown.seq > 0 && unknown.hash.len() == 64);
    for g in got.iter().filter(|g| g.topic == topics.name("decisions")) {
        let text = String::from_utf8_lossy(&g.value);
        assert!(
            !text.contains("139000"),
            "a raw msisdn on the decisions topic"
        );
    }

    // The opt-out reply took effect exactly as HandleReply would have.
    let mut client =
        portcullis::proto::screening_client::ScreeningClient::new(daemon.channel().await);
    let mut opted = false;
    for _ in 0..100 {
        let probe = ScreenRequest {
            dry_run: true,
            ..request(
                CMB,
                &msisdn(4000),
                "【招商银行】信用卡分期优惠活动，详询95555，回T退订",
            )
        };
        let d = client.screen(probe).await.unwrap().into_inner();
        if d.reasons
            .iter()
            .any(|r| r.code == ReasonCode::ReasonOptedOut as i32)
        {
            opted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(opted, "the TD reply on sms.mo opted the subscriber out");

    // Metrics: records in and out per topic, dead letters by cause, commit latency.
    let scrape = http_get(daemon.metrics_addr, "/metrics").await;
    let submit_in = metric_value(
        &scrape,
        "portcullis_kafka_records_in_total",
        &[&format!("topic=\"{submit}\"")],
    );
    assert!(submit_in >= 120.0, "{submit_in}");
    assert!(
        metric_value(
            &scrape,
            "portcullis_kafka_dead_letters_total",
            &["cause=\"UNDECODABLE_PROTOBUF\""]
        ) >= 1.0
    );
    assert!(
        metric_value(
            &scrape,
            "portcullis_kafka_commit_duration_seconds_count",
            &[]
        ) >= 1.0,
        "{}",
        scrape
            .lines()
            .filter(|l| l.contains("kafka"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    daemon.terminate();
}

/// 100,000 messages on tansu; see `crash_mid_stream` (ignored in CI, see the comment).
// Ignored in CI: against tansu 0.6.0 (the test broker), about half the runs since 2026-12-06 read
// back 135–1,000 results too few (always a run of one partition's ids past ~46,000, also at 40k
// messages), although the restarted daemon's records_in equalled its acknowledged records_out and
// a plain 100k produce-and-read against the same broker loses nothing
// (`probe_the_broker_keeps_every_record`). The same test against librdkafka's own Kafka broker
// implementation (`..._on_librdkafkas_mock_cluster`, below) passes, which points at tansu after an
// idempotent producer was killed mid-batch; no real Kafka broker can be installed here (checked:
// none on crates.io, PyPI or Debian). Run by hand:
// `cargo test --test it a_crash_mid_stream -- --ignored` with PORTCULLIS_KAFKA_BROKERS set.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "intermittent result shortfall from the test broker (tansu 0.6.0); see the comment"]
async fn a_crash_mid_stream_loses_nothing_and_redeliveries_are_identical() {
    let topics = Topics::new("crash");
    topics.create(4).await;
    crash_mid_stream(&topics, 100_000).await;
}

/// The crash test against a second, independent Kafka-protocol broker: librdkafka's mock cluster
/// (in this test process; the daemon is a separate process that is killed), which implements the
/// idempotent producer, consumer groups with session expiry and offset commits as Kafka does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_mid_stream_loses_nothing_on_librdkafkas_mock_cluster() {
    let cluster = rdkafka::mocking::MockCluster::new(1).unwrap();
    let topics = Topics::on("crash-mock", cluster.bootstrap_servers());
    for (name, partitions) in topics.layout(4) {
        cluster.create_topic(&name, partitions, 1).unwrap();
    }
    crash_mid_stream(&topics, 100_000).await;
}

/// `n` messages; the daemon is SIGKILLed part way and restarted on the same data dir. Every
/// message id ends with a final decision, and redeliveries repeat it exactly.
async fn crash_mid_stream(topics: &Topics, n: usize) {
    let dir = tempfile::tempdir().unwrap();
    // The killed member stays in the group until its session times out. With the default 45 s,
    // tansu 0.6.0 handed the restarted member an empty assignment and never rebalanced again
    // (observed; real Kafka rebalances): a short session, as the README advises for fast
    // failover, lets the dead member expire before the new one settles.
    let config = topics.config(
        dir.path(),
        "[kafka.client]\n\"session.timeout.ms\" = \"6000\"\n\"heartbeat.interval.ms\" = \"1000\"\n\
         \"max.partition.fetch.bytes\" = \"16777216\"\n\"receive.message.max.bytes\" = \"100000000\"",
    );
    let data = dir.path().join("data");
    let records: Vec<(String, Vec<u8>)> = (0..n)
        .map(|i| {
            let m = msisdn(i);
            let req = if i % 10 == 9 {
                // One in ten from an unregistered port: REJECT, audited.
                ScreenRequest {
                    message_id: format!("m-{i}"),
                    ..request("1069055555", &m, "【某某】您好，您的订单已发货。")
                }
            } else {
                verification(&format!("m-{i}"), &m, i as u32)
            };
            (m, req.encode_to_vec())
        })
        .collect();
    send_all(
        &producer_on(&topics.brokers),
        &topics.name("submit"),
        &records,
    )
    .await;

    let first = spawn(&topics.brokers, &data, &config);
    let out = [topics.name("released"), topics.name("rejected")];
    // Wait until a part of the stream is decided, then kill without any drain.
    let seen = read_until(&topics.brokers, &out, Duration::from_secs(120), |got| {
        got.len() >= n / 10
    });
    assert!(
        seen.len() >= n / 10,
        "only {} results before the kill",
        seen.len()
    );
    first.kill9();
    // Restart once the dead member's 6 s session has expired, as a supervisor restarting a crashed
    // daemon typically does: tansu 0.6.0 was once seen leaving a dead member's partitions
    // unassigned when the new member joined within that session (a real Kafka rebalances on expiry).
    tokio::time::sleep(Duration::from_secs(8)).await;

    let second = spawn(&topics.brokers, &data, &config);
    let got = read_until(&topics.brokers, &out, Duration::from_secs(240), |got| {
        let ids: HashSet<&[u8]> = got.iter().map(|g| g.key.as_slice()).collect();
        ids.len() >= n && finals(got, topics).len() >= n
    });
    let f = finals(&got, topics);
    let missing: Vec<String> = (0..n)
        .map(|i| format!("m-{i}"))
        .filter(|id| !f.contains_key(id))
        .take(10)
        .collect();
    if !missing.is_empty() {
        let scrape = http_get(second.metrics_addr, "/metrics").await;
        let interesting: Vec<&str> = scrape
            .lines()
            .filter(|l| {
                !l.starts_with('#')
                    && (l.starts_with("portcullis_decisions_total")
                        || l.starts_with("portcullis_kafka_records")
                        || l.starts_with("portcullis_kafka_consumer_lag"))
            })
            .collect();
        eprintln!("second daemon:\n{}", interesting.join("\n"));
    }
    assert!(
        missing.is_empty(),
        "{} ids lack a final decision, e.g. {missing:?}",
        n - f.len()
    );
    let mut redelivered = 0;
    for (id, decisions) in &f {
        for d in &decisions[1..] {
            assert_eq!(d, &decisions[0], "{id} decided twice differently");
            redelivered += 1;
        }
        let i: usize = id.trim_start_matches("m-").parse().unwrap();
        let expect = if i % 10 == 9 {
            Verdict::Reject
        } else {
            Verdict::Release
        };
        assert_eq!(decisions[0].verdict, expect as i32, "{id}");
    }
    let again = metric_value(
        &http_get(second.metrics_addr, "/metrics").await,
        "portcullis_kafka_records_in_total",
        &[&format!("topic=\"{}\"", topics.name("submit"))],
    );
    eprintln!(
        "{n} messages: {} before the kill, {again} read after the restart, {redelivered} redelivered results (identical)",
        seen.len()
    );
    second.terminate();
}

/// Two instances in one group split the partitions; when one stops, the other takes its
/// partitions over and every message still gets its final decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_split_partitions_and_hand_over() {
    const N: usize = 20_000;
    let topics = Topics::new("group");
    topics.create(4).await;
    let dir = tempfile::tempdir().unwrap();
    let config = topics.config(dir.path(), "");
    let a = spawn(&topics.brokers, &dir.path().join("a"), &config);
    let b = spawn(&topics.brokers, &dir.path().join("b"), &config);
    let p = producer();
    let submit = topics.name("submit");
    let batch = |from: usize| -> Vec<(String, Vec<u8>)> {
        (from..from + N / 2)
            .map(|i| {
                let m = msisdn(i);
                let req = verification(&format!("g-{i}"), &m, i as u32);
                (m, req.encode_to_vec())
            })
            .collect()
    };
    // Let both join before traffic starts.
    tokio::time::sleep(Duration::from_secs(5)).await;
    send_all(&p, &submit, &batch(0)).await;
    let out = [topics.name("released"), topics.name("rejected")];
    let got = read_until(&topics.brokers, &out, Duration::from_secs(120), |got| {
        finals(got, &topics).len() >= N / 2
    });
    assert!(finals(&got, &topics).len() >= N / 2);
    let count_in = |scrape: &str| {
        metric_value(
            scrape,
            "portcullis_kafka_records_in_total",
            &[&format!("topic=\"{submit}\"")],
        )
    };
    let a_in = count_in(&http_get(a.metrics_addr, "/metrics").await);
    let b_in = count_in(&http_get(b.metrics_addr, "/metrics").await);
    assert!(
        a_in > 0.0 && b_in > 0.0 && a_in + b_in >= (N / 2) as f64,
        "both instances consume: a {a_in}, b {b_in}"
    );
    // B stops gracefully; A takes over B's partitions for the second half.
    let status = b.terminate();
    assert!(status.success(), "{status:?}");
    send_all(&p, &submit, &batch(N / 2)).await;
    let got = read_until(&topics.brokers, &out, Duration::from_secs(180), |got| {
        finals(got, &topics).len() >= N
    });
    let f = finals(&got, &topics);
    let missing: Vec<String> = (0..N)
        .map(|i| format!("g-{i}"))
        .filter(|id| !f.contains_key(id))
        .take(10)
        .collect();
    assert!(missing.is_empty(), "lost after the handover: {missing:?}");
    for (id, decisions) in &f {
        assert!(
            decisions
                .iter()
                .all(|d| d.verdict == Verdict::Release as i32),
            "{id}: {decisions:?}"
        );
    }
    let a_after = count_in(&http_get(a.metrics_addr, "/metrics").await);
    assert!(
        a_after >= a_in + (N / 2) as f64,
        "A took over: {a_in} -> {a_after}"
    );
    a.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "probe of the test broker, run by hand"]
async fn probe_the_broker_keeps_every_record() {
    const N: usize = 100_000;
    let topics = Topics::new("probe");
    topics.create(4).await;
    let records: Vec<(String, Vec<u8>)> = (0..N)
        .map(|i| {
            let m = msisdn(i);
            let req = verification(&format!("m-{i}"), &m, i as u32);
            (m, req.encode_to_vec())
        })
        .collect();
    send_all(&producer(), &topics.name("submit"), &records).await;
    let got = tokio::task::spawn_blocking({
        let t = topics.name("submit");
        let b = topics.brokers.clone();
        move || read_until(&b, &[t], Duration::from_secs(60), |got| got.len() >= N)
    })
    .await
    .unwrap();
    let ids: HashSet<Vec<u8>> = got.iter().map(|g| g.value.clone()).collect();
    eprintln!("produced {N}, read {} ({} distinct)", got.len(), ids.len());
    assert_eq!(ids.len(), N);
}
