//! Kafka end-to-end throughput through a real broker, beside a pass-through consumer/producer on
//! the same broker and the same records, in one run. Numbers go in benches/README.md.
//!
//! cargo build --release && cargo run --release --example kafka_throughput -- [N]   (default 200,000)
//!
//! Brokers come from PORTCULLIS_KAFKA_BROKERS (default 127.0.0.1:19092; `scripts/test` starts tansu
//! there). Both runs read N ScreenRequest records (protobuf, 4 partitions, one subscriber each)
//! that were produced before the run starts:
//! - pass-through: a consumer group reads them and an idempotent producer (acks=all) writes each
//!   value unchanged to an out topic, storing offsets after the acks and committing every 500 ms:
//!   the same at-least-once shape as the daemon, without screening or a store;
//! - portcullis: the release binary (`target/release/portcullis serve`), a separate process with a
//!   fresh data dir, screens them and writes results (and audit records to the decisions topic).
//!
//! Rate = N / (last output record's timestamp − first output record's timestamp): the broker-side
//! create times of what each run wrote, so start-up and group joins are not counted.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use prost::Message as _;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::json;

use portcullis::proto::ScreenRequest;

const PARTITIONS: i32 = 4;

fn brokers() -> String {
    std::env::var("PORTCULLIS_KAFKA_BROKERS").unwrap_or_else(|_| "127.0.0.1:19092".to_owned())
}

async fn create_topics(names: &[(String, i32)]) {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .create()
        .expect("admin client");
    let new: Vec<NewTopic<'_>> = names
        .iter()
        .map(|(n, p)| NewTopic::new(n, *p, TopicReplication::Fixed(1)))
        .collect();
    for r in admin
        .create_topics(&new, &AdminOptions::new())
        .await
        .expect("create topics")
    {
        r.expect("topic created");
    }
}

fn producer() -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("enable.idempotence", "true")
        .set("linger.ms", "5")
        .create()
        .expect("producer")
}

/// Produces the N submissions: verification codes from the demo bank port, one subscriber each.
async fn load(topic: &str, n: usize) {
    let p = producer();
    let headers = OwnedHeaders::new().insert(Header {
        key: "content-type",
        value: Some("application/x-protobuf"),
    });
    let mut pending = Vec::with_capacity(10_000);
    for i in 0..n {
        let msisdn = format!("139{:08}", i);
        let req = ScreenRequest {
            message_id: format!("tp-{i}"),
            sender_port: "10690001234".into(),
            msisdn: msisdn.clone(),
            text: format!(
                "【招商银行】您的验证码是{:06}，5分钟内有效，请勿泄露。",
                i % 1_000_000
            ),
            ..Default::default()
        };
        let value = req.encode_to_vec();
        loop {
            let rec = FutureRecord::to(topic)
                .key(msisdn.as_bytes())
                .payload(value.as_slice())
                .headers(headers.clone());
            match p.send_result(rec) {
                Ok(d) => {
                    pending.push(d);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
        if pending.len() == 10_000 {
            for d in pending.drain(..) {
                d.await.expect("delivery").expect("acked");
            }
        }
    }
    for d in pending {
        d.await.expect("delivery").expect("acked");
    }
    p.flush(Duration::from_secs(30)).expect("flush");
}

/// Reads `topics` from the start until `n` records are seen; the span of their create times.
fn span(topics: &[&str], n: usize, timeout: Duration) -> (usize, f64) {
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", format!("tp-reader-{}", uuid::Uuid::now_v7()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("reader");
    c.subscribe(topics).expect("subscribe");
    let (mut first, mut last, mut seen) = (i64::MAX, i64::MIN, 0);
    let deadline = Instant::now() + timeout;
    while seen < n && Instant::now() < deadline {
        if let Some(Ok(m)) = c.poll(Duration::from_millis(100)) {
            let ts = m.timestamp().to_millis().unwrap_or_default();
            first = first.min(ts);
            last = last.max(ts);
            seen += 1;
        }
    }
    (seen, (last - first).max(1) as f64 / 1000.0)
}

/// The pass-through run: consume, produce unchanged, ack, store offsets, commit.
async fn pass_through(input: &str, output: &str, n: usize) {
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers())
        .set("group.id", format!("tp-pass-{}", uuid::Uuid::now_v7()))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .create()
        .expect("consumer");
    c.subscribe(&[input]).expect("subscribe");
    let p = producer();
    let mut done = 0;
    let mut last_commit = Instant::now();
    while done < n {
        let mut batch = Vec::with_capacity(2000);
        let first = c.recv().await.expect("record");
        batch.push(first.detach());
        while batch.len() < 2000 {
            match futures::FutureExt::now_or_never(c.recv()) {
                Some(Ok(m)) => batch.push(m.detach()),
                _ => break,
            }
        }
        let mut acks = Vec::with_capacity(batch.len());
        for m in &batch {
            let mut rec = FutureRecord::to(output).payload(m.payload().unwrap_or_default());
            if let Some(k) = m.key() {
                rec = rec.key(k);
            }
            loop {
                match p.send_result(rec) {
                    Ok(d) => {
                        acks.push(d);
                        break;
                    }
                    Err((_, r)) => {
                        rec = r;
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
        }
        for d in acks {
            d.await.expect("delivery").expect("acked");
        }
        let mut tpl = TopicPartitionList::new();
        for m in &batch {
            tpl.add_partition_offset(m.topic(), m.partition(), Offset::Offset(m.offset() + 1))
                .expect("offset");
        }
        c.store_offsets(&tpl).expect("store offsets");
        done += batch.len();
        if last_commit.elapsed() >= Duration::from_millis(500) {
            commit(&c);
            last_commit = Instant::now();
        }
    }
    commit(&c);
}

/// A sync commit of the stored offsets; "no offset stored" (nothing new) is not an error.
fn commit(c: &StreamConsumer) {
    match c.commit_consumer_state(CommitMode::Sync) {
        Ok(()) | Err(rdkafka::error::KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
        Err(e) => panic!("commit: {e}"),
    }
}

fn daemon_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/release/examples/kafka_throughput -> target/release/portcullis
    let bin = exe
        .parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("portcullis"))
        .expect("target dir");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release` first",
        bin.display()
    );
    bin
}

fn spawn_daemon(dir: &std::path::Path, prefix: &str) -> Child {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config");
    let key = dir.join("msisdn.key");
    std::fs::write(&key, "throughput-key-0123456789\n").expect("key");
    let config = dir.join("portcullis.toml");
    std::fs::write(
        &config,
        format!(
            r#"[server]
grpc_addr = "127.0.0.1:0"
metrics_addr = "127.0.0.1:0"

[files]
senders = "{repo}/senders.toml"
rules = "{repo}/rules.toml"
throttles = "{repo}/throttles.toml"

[kafka]
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
            repo = repo.display(),
            key = key.display(),
        ),
    )
    .expect("config");
    Command::new(daemon_binary())
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--kafka-brokers", &brokers()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("daemon starts")
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.replace(['_', ','], "").parse().expect("N is a count"))
        .unwrap_or(200_000);
    let prefix = format!("tp{}", uuid::Uuid::now_v7().simple());
    let t = |s: &str| format!("{prefix}.{s}");
    let mut topics = vec![(t("submit"), PARTITIONS), (t("pass-out"), PARTITIONS)];
    for s in [
        "released",
        "rejected",
        "held",
        "dead-letter",
        "mo",
        "complaints",
        "decisions",
    ] {
        topics.push((t(s), PARTITIONS));
    }
    create_topics(&topics).await;
    let loaded = Instant::now();
    load(&t("submit"), n).await;
    eprintln!(
        "loaded {n} records in {:.1} s",
        loaded.elapsed().as_secs_f64()
    );

    pass_through(&t("submit"), &t("pass-out"), n).await;
    let (pass_seen, pass_secs) = span(&[&t("pass-out")], n, Duration::from_secs(120));
    let pass_rate = pass_seen as f64 / pass_secs;
    eprintln!("pass-through: {pass_seen} records in {pass_secs:.2} s = {pass_rate:.0} msgs/s");

    let dir = tempfile::tempdir().expect("temp dir");
    let mut daemon = spawn_daemon(dir.path(), &prefix);
    let released = t("released");
    let rejected = t("rejected");
    let (seen, secs) = span(&[&released, &rejected], n, Duration::from_secs(600));
    let _ = daemon.kill();
    let _ = daemon.wait();
    let rate = seen as f64 / secs;
    eprintln!("portcullis: {seen} results in {secs:.2} s = {rate:.0} msgs/s");
    println!(
        "{}",
        json!({
            "n": n,
            "partitions": PARTITIONS,
            "cores": std::thread::available_parallelism().map_or(0, usize::from),
            "pass_through_msgs_per_s": pass_rate.round(),
            "portcullis_msgs_per_s": rate.round(),
            "portcullis_results": seen,
            "ratio": (rate / pass_rate * 1000.0).round() / 1000.0,
        })
    );
}
