//! Classification alone (rules + content model), per message, on the realistic port mix of the
//! test fixture: the aim is 150,000 messages/s per core. `screen.rs` measures the whole
//! path with the model in it.
//!
//! `PORTCULLIS_BENCH_MODEL=<file.pcm>` measures that model file instead of the embedded one (with
//! the embedded settings), so a candidate can be compared with the shipped model in one session.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis::config::{self, ConfigSource};
use portcullis::pipeline::classify::{self, Classification};
use portcullis::pipeline::normalize::NormalizedText;
use portcullis::region::RegionTable;

fn texts() -> Vec<String> {
    let raw = include_str!("../tests/it/fixtures/port_sms.tsv");
    raw.lines()
        .skip(1)
        .filter_map(|l| l.split_once('\t').map(|(_, t)| t.to_owned()))
        .collect()
}

fn bench_classify(c: &mut Criterion) {
    let regions = std::sync::Arc::new(RegionTable::embedded().expect("regions"));
    let config = config::load(&ConfigSource::default(), &regions).expect("embedded config");
    let snap = config.snapshot;
    let shipped = snap.model.as_ref().expect("the embedded model");
    let candidate = std::env::var_os("PORTCULLIS_BENCH_MODEL").map(|path| {
        let file = portcullis::pipeline::classify::model::ContentModel::load(path.as_ref())
            .unwrap_or_else(|e| panic!("PORTCULLIS_BENCH_MODEL: {e}"));
        portcullis::pipeline::classify::model::ServingModel::new(
            std::sync::Arc::new(file),
            shipped.settings,
            &snap.rules,
        )
    });
    let model = candidate.as_ref().unwrap_or(shipped);
    eprintln!(
        "model {}: {:.1} MB of weights in memory",
        model.version(),
        model.weight_bytes() as f64 / 1e6
    );
    let texts = texts();
    // Normalized once: this measures classification, not normalization.
    let normalized: Vec<NormalizedText> = texts
        .iter()
        .map(|t| {
            let mut n = NormalizedText::default();
            snap.normalizer.normalize_into(t, &mut n);
            n
        })
        .collect();
    let mut class = Classification::default();
    let mut group = c.benchmark_group("classify");
    group.throughput(Throughput::Elements(normalized.len() as u64));
    group.bench_function("rules_only", |b| {
        b.iter(|| {
            for n in &normalized {
                classify::classify(&snap.rules, None, black_box(n), &mut class);
            }
        })
    });
    group.bench_function("rules_and_model", |b| {
        b.iter(|| {
            for n in &normalized {
                classify::classify(&snap.rules, Some(model), black_box(n), &mut class);
            }
        })
    });
    group.bench_function("normalize_rules_model", |b| {
        let mut n = NormalizedText::default();
        b.iter(|| {
            for t in &texts {
                snap.normalizer.normalize_into(black_box(t), &mut n);
                classify::classify(&snap.rules, Some(model), &n, &mut class);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench_classify);
criterion_main!(benches);
