//! `portcullis loadgen` (API.md): drives a running daemon through the real gRPC API the way a
//! gateway does, unary or streamed, closed-loop or at a fixed rate, and reports throughput and
//! latency percentiles as one JSON line. With `--rate` it is open-loop: each message has an intended
//! send time and its latency counts from then, so a daemon that falls behind shows it (no
//! coordinated omission).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_stream::StreamExt;

use crate::admin::{AdminError, connect};
use crate::cli::{LoadgenArgs, LoadgenMode};
use crate::proto::ScreenRequest;
use crate::proto::screening_client::ScreeningClient;

/// Ports of the demo sender registry (config/senders.toml), so the shipped daemon knows them.
const PORTS: [&str; 3] = ["10690001234", "1069009527", "106900888"];

/// Texts used without `--data`: port traffic of the kinds a gateway sees most.
const TEXTS: [&str; 4] = [
    "【招商银行】您的验证码为 482913，5分钟内有效，请勿泄露。",
    "【京东】您的订单已发货，快递单号 JD0012345678，请留意查收。",
    "【京东】双11狂欢返场，家电低至5折，满300减50，领券 jd.com/sale 退订回T",
    "【招商银行】您尾号1234的信用卡本期账单 3,256.00 元，到期还款日 12月25日。",
];

/// Reads the `text` column of a labeled TSV (API.md's data format).
fn load_texts(path: &Path) -> Result<Vec<String>, AdminError> {
    let text = std::fs::read_to_string(path).map_err(|source| AdminError::File {
        path: path.to_path_buf(),
        source,
    })?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let column = header
        .iter()
        .position(|h| *h == "text")
        .ok_or_else(|| AdminError::Usage(format!("{}: no `text` column", path.display())))?;
    let texts: Vec<String> = lines
        .filter_map(|l| l.split('\t').nth(column))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    if texts.is_empty() {
        return Err(AdminError::Usage(format!("{}: no texts", path.display())));
    }
    Ok(texts)
}

/// The i-th request of the run: ports, subscribers and texts rotate; ids are unique per run.
fn nth_request(run: &str, i: u64, texts: &[String]) -> ScreenRequest {
    ScreenRequest {
        message_id: format!("{run}-{i}"),
        sender_port: PORTS[(i % PORTS.len() as u64) as usize].to_owned(),
        msisdn: format!("139{:08}", i % 100_000_000),
        text: texts[(i % texts.len() as u64) as usize].clone(),
        ..Default::default()
    }
}

#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        for (code, n) in other.errors {
            *self.errors.entry(code).or_default() += n;
        }
    }

    fn record(&mut self, since: Instant, outcome: Result<(), tonic::Code>) {
        let us = since.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
        match outcome {
            Ok(()) => self.latencies_us.push(us),
            Err(code) => *self.errors.entry(format!("{code:?}")).or_default() += 1,
        }
    }
}

/// The run every worker draws its messages from.
struct Plan {
    next: AtomicU64,
    total: u64,
    /// Messages per second in all; `None`: closed loop.
    rate: Option<f64>,
    start: Instant,
    run_id: String,
    texts: Vec<String>,
}

impl Plan {
    /// The next message's number and when it counts as sent (now, or its slot at `rate` per second,
    /// waited for); `None` once all are taken.
    async fn next(&self) -> Option<(u64, Instant)> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= self.total {
            return None;
        }
        let since = match self.rate {
            None => Instant::now(),
            Some(r) => {
                let at = self.start + Duration::from_secs_f64(i as f64 / r);
                tokio::time::sleep_until(at.into()).await;
                at
            }
        };
        Some((i, since))
    }

    fn request(&self, i: u64) -> ScreenRequest {
        nth_request(&self.run_id, i, &self.texts)
    }
}

pub async fn run(args: &LoadgenArgs, out: &mut dyn std::io::Write) -> Result<(), AdminError> {
    if args.concurrency == 0 || args.messages == 0 {
        return Err(AdminError::Usage(
            "--messages and --concurrency must be at least 1".into(),
        ));
    }
    let texts = match &args.data {
        Some(path) => load_texts(path)?,
        None => TEXTS.iter().map(|t| (*t).to_owned()).collect(),
    };
    let channel = connect(&args.target).await?;
    let start = Instant::now();
    let plan = Arc::new(Plan {
        next: AtomicU64::new(0),
        total: args.messages,
        rate: args.rate.filter(|r| *r > 0.0),
        start,
        run_id: format!("loadgen-{}", uuid::Uuid::now_v7().simple()),
        texts,
    });
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let (client, plan, mode) = (
            ScreeningClient::new(channel.clone()),
            Arc::clone(&plan),
            args.mode,
        );
        workers.spawn(async move {
            match mode {
                LoadgenMode::Unary => unary(client, plan).await,
                LoadgenMode::Stream => stream(client, plan).await,
            }
        });
    }
    let mut tally = Tally::default();
    while let Some(done) = workers.join_next().await {
        match done {
            Ok(t) => tally.merge(t),
            Err(e) => *tally.errors.entry(format!("worker: {e}")).or_default() += 1,
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    tally.latencies_us.sort_unstable();
    let pct = |p: f64| -> u32 {
        let v = &tally.latencies_us;
        if v.is_empty() {
            return 0;
        }
        v[((v.len() - 1) as f64 * p).round() as usize]
    };
    let ok = tally.latencies_us.len() as u64;
    let errors: u64 = tally.errors.values().sum();
    let summary = serde_json::json!({
        "mode": match args.mode { LoadgenMode::Unary => "unary", LoadgenMode::Stream => "stream" },
        "messages": ok + errors,
        "seconds": (seconds * 1000.0).round() / 1000.0,
        "msgs_per_s": ((ok + errors) as f64 / seconds).round(),
        "p50_us": pct(0.50),
        "p99_us": pct(0.99),
        "p999_us": pct(0.999),
        "errors": errors,
        "errors_by_code": tally.errors,
    });
    writeln!(out, "{summary}").map_err(AdminError::Output)?;
    Ok(())
}

async fn unary(mut client: ScreeningClient<crate::admin::AuthChannel>, plan: Arc<Plan>) -> Tally {
    let mut tally = Tally::default();
    while let Some((i, since)) = plan.next().await {
        let outcome = client
            .screen(plan.request(i))
            .await
            .map(drop)
            .map_err(|s| s.code());
        tally.record(since, outcome);
    }
    tally
}

/// One ScreenStream: a sender task paces the requests, this task matches answers to send times
/// (answers come in request order).
async fn stream(mut client: ScreeningClient<crate::admin::AuthChannel>, plan: Arc<Plan>) -> Tally {
    let mut tally = Tally::default();
    let (tx, rx) = tokio::sync::mpsc::channel::<ScreenRequest>(256);
    // Send times of the requests not yet answered (bounded: a lagging reader slows the sender).
    let (sent_tx, mut sent_rx) = tokio::sync::mpsc::channel::<Instant>(4096);
    let sender = tokio::spawn(async move {
        while let Some((i, since)) = plan.next().await {
            if sent_tx.send(since).await.is_err() || tx.send(plan.request(i)).await.is_err() {
                return;
            }
        }
    });
    let mut answers = match client
        .screen_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
    {
        Ok(r) => r.into_inner(),
        Err(status) => {
            sender.abort();
            tally.record(Instant::now(), Err(status.code()));
            return tally;
        }
    };
    while let Some(answer) = answers.next().await {
        let since = sent_rx.recv().await.unwrap_or_else(Instant::now);
        match answer {
            Ok(_) => tally.record(since, Ok(())),
            Err(status) => {
                tally.record(since, Err(status.code()));
                break;
            }
        }
    }
    let _ = sender.await;
    tally
}
