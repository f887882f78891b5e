//! Hot-path registry lookups (`SubscriberRegistry::is_opted_out` and `consent_for`) on an
//! `InMemoryRegistry` holding 1M opt-outs and 200k consents, one thread. Most lookups miss, as in
//! live traffic: the `mixed` sets hit 10% of the time; `all_miss` and `all_hit` bracket them.
//! Reported as lookups per second (Throughput::Elements). Numbers go in benches/README.md.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use portcullis::domain::{Category, CategorySet, Msisdn, OptOutScope};
use portcullis::registry::{Consent, InMemoryRegistry, SubscriberRegistry};

const OPT_OUTS: usize = 1_000_000;
const CONSENTS: usize = 200_000;
const ENTERPRISES: usize = 1000;
const QUERIES: usize = 100_000;

/// splitmix64: a fixed-seed generator, so every run fills and queries the same keys.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A mobile number 13xxxxxxxxx.
    fn msisdn(&mut self) -> Msisdn {
        Msisdn::from_u64(13_000_000_000 + self.next() % 1_000_000_000).expect("13xxxxxxxxx")
    }
}

struct Fixture {
    registry: InMemoryRegistry,
    enterprises: Vec<String>,
    /// (msisdn, enterprise index) with an enterprise-level commercial opt-out.
    opted_out: Vec<(Msisdn, usize)>,
    /// (msisdn, enterprise index) with a marketing consent in force.
    consented: Vec<(Msisdn, usize)>,
}

fn fixture() -> Fixture {
    let registry = InMemoryRegistry::new();
    let enterprises: Vec<String> = (0..ENTERPRISES).map(|i| format!("ent-{i:04}")).collect();
    let mut rng = Rng(0x5eed);
    let mut opted_out = Vec::new();
    // 5% carrier-level refusals, 85% enterprise-level commercial, 10% enterprise-level collection.
    for i in 0..OPT_OUTS {
        let m = rng.msisdn();
        let e = rng.below(ENTERPRISES);
        match i % 20 {
            0 => registry.opt_out(m, None, OptOutScope::Commercial),
            1 | 2 => registry.opt_out(m, Some(&enterprises[e]), OptOutScope::Collection),
            _ => {
                registry.opt_out(m, Some(&enterprises[e]), OptOutScope::Commercial);
                opted_out.push((m, e));
            }
        }
    }
    let granted_at: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().expect("valid");
    let mut consented = Vec::new();
    for i in 0..CONSENTS {
        let m = rng.msisdn();
        let e = rng.below(ENTERPRISES);
        registry.record_consent(
            m,
            &enterprises[e],
            Consent {
                consent_id: Arc::from(format!("con-{i:032x}")),
                scope: CategorySet::of(&[Category::Marketing, Category::LoanMarketing]),
                granted_at,
                expires_at: None,
                revoked_at: None,
            },
        );
        consented.push((m, e));
    }
    let (consent_pairs, opt_outs, _) = registry.sizes();
    eprintln!("registry: {opt_outs} opt-outs, {consent_pairs} consent pairs");
    Fixture {
        registry,
        enterprises,
        opted_out,
        consented,
    }
}

/// `QUERIES` (msisdn, enterprise index): `hit_pct`% drawn from `hits`, the rest random numbers.
fn queries(rng: &mut Rng, hits: &[(Msisdn, usize)], hit_pct: usize) -> Vec<(Msisdn, usize)> {
    (0..QUERIES)
        .map(|_| {
            if rng.below(100) < hit_pct {
                hits[rng.below(hits.len())]
            } else {
                (rng.msisdn(), rng.below(ENTERPRISES))
            }
        })
        .collect()
}

fn bench_registry(c: &mut Criterion) {
    let fx = fixture();
    let now: jiff::Timestamp = "2026-11-23T02:00:00Z".parse().expect("valid");
    let mut rng = Rng(0xbeef);
    let sets = [("mixed_10pct_hit", 10), ("all_miss", 0), ("all_hit", 100)];

    let mut group = c.benchmark_group("registry::is_opted_out");
    group.throughput(Throughput::Elements(QUERIES as u64));
    for (name, pct) in sets {
        let qs = queries(&mut rng, &fx.opted_out, pct);
        let found = qs
            .iter()
            .filter(|(m, e)| {
                fx.registry
                    .is_opted_out(*m, &fx.enterprises[*e], OptOutScope::Commercial)
            })
            .count();
        eprintln!("is_opted_out/{name}: {found} of {} queries hit", qs.len());
        group.bench_with_input(BenchmarkId::from_parameter(name), &qs, |b, qs| {
            b.iter(|| {
                qs.iter()
                    .filter(|(m, e)| {
                        fx.registry.is_opted_out(
                            black_box(*m),
                            &fx.enterprises[*e],
                            OptOutScope::Commercial,
                        )
                    })
                    .count()
            });
        });
    }
    group.finish();

    let mut group = c.benchmark_group("registry::consent_for");
    group.throughput(Throughput::Elements(QUERIES as u64));
    for (name, pct) in sets {
        let qs = queries(&mut rng, &fx.consented, pct);
        let found = qs
            .iter()
            .filter(|(m, e)| {
                fx.registry
                    .consent_for(*m, &fx.enterprises[*e], Category::Marketing, now)
                    .is_some()
            })
            .count();
        eprintln!("consent_for/{name}: {found} of {} queries hit", qs.len());
        group.bench_with_input(BenchmarkId::from_parameter(name), &qs, |b, qs| {
            b.iter(|| {
                qs.iter()
                    .filter(|(m, e)| {
                        fx.registry
                            .consent_for(
                                black_box(*m),
                                &fx.enterprises[*e],
                                Category::Marketing,
                                now,
                            )
                            .is_some()
                    })
                    .count()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench_registry);
criterion_main!(benches);
