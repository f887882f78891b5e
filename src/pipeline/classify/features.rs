//! What the content model sees of a message: hashed character n-grams of the normalized body, plus
//! the rule symbols that fired. Training and serving both come through here, so a model can never
//! be scored on features built differently from the ones it learnt.
//!
//! The body is first reduced to a *feature text*: every run of digits becomes `0`, `00` or `000`
//! for 1-2, 3-4 and 5 or more digits (codes, amounts and dates differ in every message of a
//! campaign, but a day, a price and a phone number differ in length; the public sets mask digits
//! anyway) and
//! every URL becomes one `U` (a link's letters say little, that there is one says a lot). Start and
//! end markers make "begins with" and "ends with" n-grams features of their own.
//!
//! Values are sublinear term frequencies (`1 + ln count`) of the n-grams, scaled to unit L2 norm (a
//! TF vector; IDF weighting was tried and scored lower here); a symbol counts like an n-gram.
//! Each head folds the 64-bit hashes into a table of its own size: collisions are the price of a
//! fixed-size model, and the spam head, which sees the largest vocabulary, gets the largest table.

use std::cell::RefCell;

use crate::pipeline::normalize::NormalizedText;

/// Marks the start and the end of the feature text (never in canonical text: control characters
/// are removed by the normalizer).
const START: char = '\u{2}';
const END: char = '\u{3}';
/// Stands for one URL in the feature text (canonical text is ASCII-lowercased, so `U` is free).
pub const URL_MARK: char = 'U';
/// Stands for a run of digits: once for 1-2 digits, twice for 3-4, three times for 5 or more.
pub const DIGITS_MARK: char = '0';

/// The longest n-gram the hashing supports (the model file says which `max_n` it was trained with).
pub const MAX_N: usize = 5;

/// How features are made: stored in the model file so serving builds them the way training did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureSpec {
    /// n-grams of 1..=max_n characters.
    pub max_n: u8,
}

/// The 64-bit hash of the n-gram `chars`; each head folds it into its own table size (`bucket`).
pub fn ngram_hash(chars: &[char]) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325 ^ (chars.len() as u64);
    for &c in chars {
        h = (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01B3);
        h ^= h >> 29;
    }
    h
}

/// The hash of a rule symbol (by name, so a model survives a reordered rules file).
pub fn symbol_hash(name: &str) -> u64 {
    let mut h: u64 = 0xA076_1D64_78BD_642F;
    for b in b"\x01sym:".iter().chain(name.as_bytes()) {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01B3);
        h ^= h >> 29;
    }
    h
}

/// The hash of every symbol of `rules`, indexed by `SymbolId`: what a model is bound with.
pub fn symbol_hashes(rules: &super::rules::RuleSet) -> Vec<u64> {
    (0..rules.symbol_count())
        .map(|i| symbol_hash(rules.symbol_name(super::SymbolId(i as u16))))
        .collect()
}

/// The bucket of hash `h` in a table of 2^bits (Fibonacci hashing: the top bits of a multiply are
/// well mixed, so every table size sees an even spread).
pub fn bucket(h: u64, bits: u8) -> usize {
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - u32::from(bits))) as usize
}

/// Reusable buffers: the feature text and the (bucket, value) list of one message.
#[derive(Debug, Default)]
pub struct FeatureScratch {
    pub chars: Vec<char>,
    hashes: Vec<u64>,
    pub features: Vec<(u64, f32)>,
}

thread_local! {
    static SCRATCH: RefCell<FeatureScratch> = RefCell::new(FeatureScratch::default());
}

/// Runs `f` with this thread's scratch buffers (the hot path allocates nothing once they have grown).
pub fn with_scratch<R>(f: impl FnOnce(&mut FeatureScratch) -> R) -> R {
    SCRATCH.with_borrow_mut(f)
}

/// Writes the feature text of `norm` into `out`: digits runs and URLs collapsed, start/end marks.
pub fn feature_text(norm: &NormalizedText, out: &mut Vec<char>) {
    out.clear();
    out.push(START);
    let text = norm.text.as_str();
    let mut pos = 0;
    let mut digits = 0u32;
    while pos < text.len() {
        if !norm.urls.is_empty()
            && let Some(len) = url_at(text, pos, &norm.urls)
        {
            out.push(URL_MARK);
            digits = 0;
            pos += len;
            continue;
        }
        let Some(c) = text.get(pos..).and_then(|rest| rest.chars().next()) else {
            break;
        };
        pos += c.len_utf8();
        if c.is_ascii_digit() {
            digits += 1;
            if matches!(digits, 1 | 3 | 5) {
                out.push(DIGITS_MARK);
            }
        } else {
            digits = 0;
            out.push(c);
        }
    }
    out.push(END);
}

/// The byte length of the URL of `urls` that starts at `pos`, if one does.
fn url_at(text: &str, pos: usize, urls: &[String]) -> Option<usize> {
    let rest = text.get(pos..)?;
    urls.iter()
        .filter(|u| !u.is_empty() && rest.starts_with(u.as_str()))
        .map(String::len)
        .max()
}

/// Fills `s.features` with the (hash, value) pairs of `norm` and the given symbol hashes, sorted
/// by hash, unit L2 norm. `s.chars` keeps the feature text (explanations use it).
pub fn extract(spec: FeatureSpec, norm: &NormalizedText, symbols: &[u64], s: &mut FeatureScratch) {
    feature_text(norm, &mut s.chars);
    extract_from_text(spec, symbols, s);
}

/// `extract` for a scratch whose `chars` already hold the feature text (serving builds it once
/// for the model and the campaign fingerprint).
pub fn extract_from_text(spec: FeatureSpec, symbols: &[u64], s: &mut FeatureScratch) {
    s.hashes.clear();
    let n_max = usize::from(spec.max_n).min(MAX_N);
    for n in 1..=n_max {
        for window in s.chars.windows(n) {
            // A lone start/end mark says nothing.
            if n == 1 && (window[0] == START || window[0] == END) {
                continue;
            }
            s.hashes.push(ngram_hash(window));
        }
    }
    s.hashes.extend_from_slice(symbols);
    s.hashes.sort_unstable();

    s.features.clear();
    let mut norm2 = 0.0f32;
    let mut i = 0;
    while i < s.hashes.len() {
        let h = s.hashes[i];
        let mut j = i + 1;
        while j < s.hashes.len() && s.hashes[j] == h {
            j += 1;
        }
        let v = 1.0 + ((j - i) as f32).ln();
        norm2 += v * v;
        s.features.push((h, v));
        i = j;
    }
    if norm2 > 0.0 {
        let inv = 1.0 / norm2.sqrt();
        for f in &mut s.features {
            f.1 *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::normalize::Normalizer;

    fn norm(text: &str) -> NormalizedText {
        let mut n = NormalizedText::default();
        Normalizer::default().normalize_into(text, &mut n);
        n
    }

    #[test]
    fn digits_and_urls_collapse() {
        let n = norm("验证码123456，详见 http://t.cn/AbC 回T退订");
        let mut chars = Vec::new();
        feature_text(&n, &mut chars);
        let s: String = chars.iter().collect();
        assert!(s.contains("验证码0"), "{s}");
        assert!(s.contains('U'), "{s}");
        assert!(!s.contains("t.cn"), "{s}");
        assert!(s.starts_with(START) && s.ends_with(END));
    }

    #[test]
    fn features_are_unit_norm_and_sorted() {
        let spec = FeatureSpec { max_n: 3 };
        let n = norm("恭喜您获得大奖，请点击领取");
        let mut s = FeatureScratch::default();
        extract(spec, &n, &[symbol_hash("HAS_URL")], &mut s);
        let sum: f32 = s.features.iter().map(|f| f.1 * f.1).sum();
        assert!((sum - 1.0).abs() < 1e-4, "{sum}");
        assert!(s.features.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(s.features.iter().all(|f| bucket(f.0, 18) < 1 << 18));
    }

    #[test]
    fn same_text_different_numbers_same_features() {
        let spec = FeatureSpec { max_n: 3 };
        let mut a = FeatureScratch::default();
        let mut b = FeatureScratch::default();
        extract(spec, &norm("您的验证码是4821，5分钟内有效"), &[], &mut a);
        extract(spec, &norm("您的验证码是9033，15分钟内有效"), &[], &mut b);
        assert_eq!(a.features, b.features);
        // A phone number is not a code: digit runs keep their length class.
        extract(
            spec,
            &norm("您的验证码是13800138000，5分钟内有效"),
            &[],
            &mut b,
        );
        assert_ne!(a.features, b.features);
        let mut t = Vec::new();
        feature_text(&norm("拨打13800138000，回复8或123"), &mut t);
        let t: String = t.into_iter().collect();
        assert_eq!(t, "\u{2}拨打000,回复0或00\u{3}");
    }
}
