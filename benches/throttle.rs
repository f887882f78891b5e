//! The regional throttle on the hot path: the check every commercial message pays (a manual-block
//! scan, two window lookups with a lazy refresh, and the limiter when THROTTLED), and the memory of
//! the windows for 31 provinces x 100,000 active enterprises. Numbers go in benches/README.md.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use portcullis::clock::{Clock, ManualClock};
use portcullis::domain::Category;
use portcullis::region::RegionTable;
use portcullis::throttle::ThrottleConfig;
use portcullis::throttle::region::RegionThrottle;

fn throttle(clock: &Arc<ManualClock>, provinces: &[String]) -> RegionThrottle {
    RegionThrottle::new(
        ThrottleConfig::default(),
        provinces.iter().cloned(),
        Arc::clone(clock) as Arc<dyn Clock>,
    )
}

fn bench_check(c: &mut Criterion) {
    let regions = RegionTable::embedded().expect("embedded region table");
    let provinces: Vec<String> = regions.provinces().map(str::to_owned).collect();
    let clock = Arc::new(ManualClock::new(
        "2026-11-23T02:00:00Z".parse().expect("valid"),
    ));
    let now: Timestamp = clock.now();
    let t = throttle(&clock, &provinces);
    let enterprises: Vec<String> = (0..10_000).map(|i| format!("ent-{i}")).collect();
    // Traffic for every (province, enterprise) pair: the windows exist and are read on each check.
    for (i, e) in enterprises.iter().enumerate() {
        t.record_release(&provinces[i % provinces.len()], e, now);
    }
    let mut group = c.benchmark_group("throttle::check");
    group.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    group.bench_function(BenchmarkId::from_parameter("commercial_normal"), |b| {
        b.iter(|| {
            i = i.wrapping_add(7919);
            let e = &enterprises[i % enterprises.len()];
            black_box(t.check(
                &provinces[i % provinces.len()],
                e,
                Category::Marketing,
                true,
                now,
            ))
        })
    });
    group.bench_function(BenchmarkId::from_parameter("verification_skip"), |b| {
        b.iter(|| {
            black_box(t.check(
                &provinces[0],
                &enterprises[0],
                Category::Verification,
                false,
                now,
            ))
        })
    });
    group.finish();
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

/// Memory of the windows: every (province, enterprise) pair with traffic in two buckets.
fn memory(c: &mut Criterion) {
    let regions = RegionTable::embedded().expect("embedded region table");
    let provinces: Vec<String> = regions.provinces().map(str::to_owned).collect();
    let clock = Arc::new(ManualClock::new(
        "2026-11-23T02:00:00Z".parse().expect("valid"),
    ));
    let before = rss_bytes();
    let t = throttle(&clock, &provinces);
    let start: Timestamp = clock.now();
    for minute in 0..2i64 {
        let at = start + jiff::SignedDuration::from_secs(minute * 60);
        for e in 0..100_000u32 {
            let name = format!("ent-{e}");
            for p in &provinces {
                t.record_release(p, &name, at);
            }
        }
    }
    let (keys, bytes) = t.footprint();
    let rss = rss_bytes().saturating_sub(before);
    eprintln!(
        "throttle memory: {keys} keys (31 provinces x 100,000 enterprises + provinces), 2 buckets each: \
         windows {:.1} MiB ({:.0} B/key), RSS +{:.1} MiB ({:.0} B/key incl. maps and interning)",
        bytes as f64 / (1024.0 * 1024.0),
        bytes as f64 / keys as f64,
        rss as f64 / (1024.0 * 1024.0),
        rss as f64 / keys as f64
    );
    c.bench_function("throttle::memory_probe", |b| {
        b.iter(|| black_box(t.footprint().0))
    });
}

criterion_group!(benches, bench_check, memory);
criterion_main!(benches);
