//! Normalization of any text: never panics, canonicalization is idempotent (the duplicate filter
//! hashes canonical text), reused output buffers give the same result as fresh ones, and what is
//! extracted is well-formed.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use portcullis::pipeline::normalize::{NormalizedText, Normalizer};

static NORMALIZER: LazyLock<Normalizer> =
    LazyLock::new(|| Normalizer::new(&["s.example.cn".to_owned()]));

/// Something already in the reused buffer, so stale state would show.
const PREVIOUS: &str = "【某银行】您尾号1234的卡 加v：abc123 http://t.cn/xyz 13800138000 回T退订";

fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    let n = &*NORMALIZER;

    let mut fresh = NormalizedText::default();
    n.normalize_into(&raw, &mut fresh);

    let mut reused = NormalizedText::default();
    n.normalize_into(PREVIOUS, &mut reused);
    n.normalize_into(&raw, &mut reused);
    assert_eq!(fresh.text, reused.text);
    assert_eq!(fresh.signature, reused.signature);
    assert_eq!(fresh.signature_at_end, reused.signature_at_end);
    assert_eq!(fresh.stray_brackets, reused.stray_brackets);
    assert_eq!(fresh.optout_notice, reused.optout_notice);
    assert_eq!(fresh.urls, reused.urls);
    assert_eq!(fresh.shortened_urls, reused.shortened_urls);
    assert_eq!(fresh.phones, reused.phones);
    assert_eq!(fresh.flags, reused.flags);
    assert_eq!(fresh.segments, reused.segments);

    // Extracted entities are well-formed.
    assert!(usize::from(fresh.shortened_urls) <= fresh.urls.len());
    for phone in &fresh.phones {
        assert!(
            !phone.is_empty() && phone.bytes().all(|b| b.is_ascii_digit()),
            "{phone:?}"
        );
    }
    if !raw.is_empty() {
        assert!(fresh.segments.count >= 1, "{:?}", fresh.segments);
    }

    // Canonical text is idempotent and bounded: NFKC expands a character to at most 18, and the
    // substitutions add a few bytes per match.
    let mut once = String::new();
    n.canonicalize_into(&raw, &mut once);
    assert!(
        once.len() <= raw.len().saturating_mul(18) + 16,
        "{} -> {}",
        raw.len(),
        once.len()
    );
    let mut twice = String::new();
    n.canonicalize_into(&once, &mut twice);
    assert_eq!(
        once, twice,
        "canonicalization is not idempotent for {raw:?}"
    );
});
