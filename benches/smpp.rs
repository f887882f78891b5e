//! SMPP payload decoding and long-SMS reassembly, the work a raw `submit_sm` adds before screening.
//! Reported as payloads (or whole messages) per second; numbers go in benches/README.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use portcullis::domain::Msisdn;
use portcullis::reassembly::{Added, ConcatKey, PartIn, Reassembly};
use portcullis::smpp::{self, DataCoding};

fn ucs2(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_be_bytes).collect()
}

fn bench(c: &mut Criterion) {
    let gsm: Vec<u8> = "Your parcel {A-12} ships today, fee EUR 2; reply T to stop. "
        .bytes()
        .map(|b| match b {
            b'{' | b'}' => b'(',
            b => b,
        })
        .cycle()
        .take(160)
        .collect();
    let chinese = ucs2(&"【京东】您的订单已发货，请保持电话畅通😀".repeat(4)[..]);
    let chinese = &chinese[..140];
    let mut group = c.benchmark_group("smpp");
    group.throughput(Throughput::Elements(1));
    let mut out = String::new();
    group.bench_function("decode GSM 7-bit, 160 septets", |b| {
        b.iter(|| {
            out.clear();
            smpp::decode_into(DataCoding::Gsm7, black_box(&gsm), &mut out).unwrap();
            black_box(out.len())
        })
    });
    group.bench_function("decode UCS-2, 70 units", |b| {
        b.iter(|| {
            out.clear();
            smpp::decode_into(DataCoding::Ucs2, black_box(chinese), &mut out).unwrap();
            black_box(out.len())
        })
    });
    let long = ucs2(&"【京东】您的订单已由京东物流发出，预计明日送达，请保持电话畅通😀".repeat(6));
    let parts: Vec<&[u8]> = long.chunks(134).collect();
    let total = u8::try_from(parts.len()).unwrap();
    let msisdn = Msisdn::parse("13800138000").unwrap();
    let reassembly = Reassembly::default();
    let ids: Vec<String> = (1..=total).map(|i| format!("part-{i}")).collect();
    let mut reference = 0u32;
    group.bench_function(format!("reassemble {total} UCS-2 parts"), |b| {
        b.iter(|| {
            reference = reference.wrapping_add(1);
            let key = ConcatKey {
                sender_port: "1069009527".to_owned(),
                msisdn,
                reference,
            };
            for (seq, body) in (1..=total).zip(&parts) {
                let part = PartIn {
                    seq,
                    total,
                    message_id: &ids[usize::from(seq - 1)],
                    coding: Some(DataCoding::Ucs2),
                    body,
                    text_hash: u64::from(seq),
                };
                if let (Added::Complete(whole), _) =
                    reassembly.add(key.clone(), part, 0, 60).unwrap()
                {
                    black_box(whole.text.unwrap().len());
                    reassembly.finish(&key);
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
