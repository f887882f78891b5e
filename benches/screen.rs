//! The in-process screening path (normalize -> classify -> policy -> verdict) over realistic mixes
//! built from ../shared/data (when present) and the project's own port-SMS fixture. Reported as
//! messages per second (Throughput::Elements); per-message p50/p99 are printed by a separate timed
//! pass, since criterion reports means. Numbers go in benches/README.md.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use portcullis::clock::ManualClock;
use portcullis::config::{self, ConfigSource};
use portcullis::domain::{Category, CategorySet, Msisdn};
use portcullis::pipeline::screen::{LiveState, Scratch, Snapshot, Submission, screen};
use portcullis::region::RegionTable;
use portcullis::registry::{Consent, InMemoryRegistry};
use portcullis::throttle::region::RegionThrottle;

/// (sender_port, text, recipient)
type Message = (String, String, Msisdn);

struct Fixture {
    snapshot: Snapshot,
    live: LiveState,
    mixes: Vec<(&'static str, Vec<Message>)>,
}

fn read_tsv(path: &Path, limit: usize) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split('\t');
            Some((cols.next()?.to_owned(), cols.next()?.to_owned()))
        })
        .take(limit)
        .collect()
}

fn fixture() -> Fixture {
    let regions = Arc::new(RegionTable::embedded().expect("embedded region table"));
    let config = config::load(&ConfigSource::default(), &regions).expect("embedded config");
    let throttle = Arc::new(RegionThrottle::new(
        config.throttles.clone(),
        regions.provinces().map(str::to_owned),
        Arc::new(ManualClock::new(
            "2026-11-23T02:00:00Z".parse().expect("valid"),
        )),
    ));
    let snapshot = config.snapshot;
    let registry = Arc::new(InMemoryRegistry::new());
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let msisdn =
        |i: usize| Msisdn::parse(&format!("138{:08}", i * 7919 % 100_000_000)).expect("valid");

    let port_sms = read_tsv(&root.join("tests/it/fixtures/port_sms.tsv"), usize::MAX);
    let ports = |category: &str| match category {
        "VERIFICATION" | "SERVICE" => "10690001234",
        "LOAN_MARKETING" => "1069077777",
        "COLLECTION" => "1069066666",
        _ => "1069009527",
    };
    let mut legit = Vec::new();
    for (i, (label, text)) in port_sms.iter().enumerate() {
        let m = msisdn(i);
        registry.record_consent(
            m,
            "ent-jd",
            Consent {
                consent_id: Arc::from(format!("c-{i}")),
                scope: CategorySet::of(&[Category::Marketing, Category::LoanMarketing]),
                granted_at: jiff::Timestamp::UNIX_EPOCH,
                expires_at: None,
                revoked_at: None,
            },
        );
        legit.push((ports(label).to_owned(), text.clone(), m));
    }
    let shared = root.join("../shared/data");
    let spam_ham: Vec<_> = read_tsv(&shared.join("zh_spam_ham_50k.tsv"), 4000)
        .into_iter()
        .enumerate()
        .map(|(i, (_, text))| ("1069009527".to_owned(), text, msisdn(i)))
        .collect();
    let fbs: Vec<_> = read_tsv(&shared.join("zh_fbs_spam_categories.tsv"), usize::MAX)
        .into_iter()
        .step_by(5)
        .enumerate()
        .map(|(i, (_, text))| ("1069009527".to_owned(), text, msisdn(i)))
        .collect();
    let mut mixed: Vec<_> = Vec::new();
    for i in 0..4000 {
        // Port traffic is mostly verification and service: weight the realistic fixture 3:1.
        let pick = match i % 4 {
            0 if !spam_ham.is_empty() => &spam_ham[i % spam_ham.len()],
            1 | 2 if !legit.is_empty() => &legit[i % legit.len()],
            _ if !fbs.is_empty() => &fbs[i % fbs.len()],
            _ => &legit[i % legit.len().max(1)],
        };
        mixed.push(pick.clone());
    }
    let mut mixes = vec![("port_sms_fixture", legit)];
    if !spam_ham.is_empty() {
        mixes.push(("zh_spam_ham", spam_ham));
    }
    if !fbs.is_empty() {
        mixes.push(("fake_base_station_spam", fbs));
    }
    mixes.push(("realistic_mix", mixed));
    Fixture {
        snapshot,
        live: LiveState::new(registry, throttle),
        mixes,
    }
}

fn screen_all(
    fx: &Fixture,
    msgs: &[Message],
    scratch: &mut Scratch,
    now: jiff::Timestamp,
) -> usize {
    let mut released = 0;
    for (port, text, msisdn) in msgs {
        let sub = Submission {
            message_id: "bench",
            sender_port: port,
            msisdn: *msisdn,
            text,
            dry_run: true,
            segments: None,
        };
        let s = screen(&fx.snapshot, &fx.live, &sub, now, scratch);
        released +=
            usize::from(s.outcome.verdict == portcullis::pipeline::verdict::Verdict::Release);
    }
    released
}

fn percentiles(fx: &Fixture) {
    let now: jiff::Timestamp = "2026-11-23T02:00:00Z".parse().expect("valid");
    let mut scratch = Scratch::default();
    for (name, msgs) in &fx.mixes {
        let mut times: Vec<u64> = Vec::with_capacity(msgs.len() * 5);
        for _ in 0..5 {
            for (port, text, msisdn) in msgs {
                let sub = Submission {
                    message_id: "bench",
                    sender_port: port,
                    msisdn: *msisdn,
                    text,
                    dry_run: true,
                    segments: None,
                };
                let started = std::time::Instant::now();
                black_box(screen(&fx.snapshot, &fx.live, &sub, now, &mut scratch).outcome);
                times.push(started.elapsed().as_nanos() as u64);
            }
        }
        times.sort_unstable();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        eprintln!(
            "latency {name}: n={} p50={:.2}us p99={:.2}us p999={:.2}us",
            times.len(),
            at(0.50) as f64 / 1000.0,
            at(0.99) as f64 / 1000.0,
            at(0.999) as f64 / 1000.0
        );
    }
}

fn bench_screen(c: &mut Criterion) {
    let fx = fixture();
    percentiles(&fx);
    let now: jiff::Timestamp = "2026-11-23T02:00:00Z".parse().expect("valid");
    let mut group = c.benchmark_group("pipeline::screen");
    for (name, msgs) in &fx.mixes {
        group.throughput(Throughput::Elements(msgs.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(name), msgs, |b, m| {
            let mut scratch = Scratch::default();
            b.iter(|| screen_all(&fx, m, &mut scratch, now));
        });
    }
    group.finish();
}

criterion_group!(benches, bench_screen);
criterion_main!(benches);
