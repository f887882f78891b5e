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
//! Values are sublinear term frequencies (`1 + ln count`) of the n-grams times their inverse
//! document frequency (`Idf`, fitted on the training rows and stored in the model), scaled to unit
//! L2 norm: the TF-IDF vector of the baseline (scikit-learn's `TfidfVectorizer(sublinear_tf=True)`);
//! a symbol counts like an n-gram. (IDF was once tried with the SGD spam head and scored lower; with
//! the SVM it gained 0.005 zh spam F1 on the dev split.)
//! Each head folds the 64-bit hashes into a table of its own size: collisions are the price of a
//! fixed-size model, and the spam head, which sees the largest vocabulary, gets the largest table.

use std::cell::RefCell;
use std::sync::LazyLock;

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
    /// One feature more when whitespace between CJK characters was dropped (`cjk_spacing_hash`).
    pub cjk_spacing: bool,
    /// One feature more for the feature text's length class (`length_hash`).
    pub length: bool,
}

const NGRAM_SEED: u64 = 0xCBF2_9CE4_8422_2325;

/// One character more of an n-gram's hash: the hash of `abc` extends the hash of `ab`, so all the
/// n-grams starting at one position are hashed in one pass.
#[inline]
fn ngram_step(h: u64, c: char) -> u64 {
    let h = (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01B3);
    h ^ (h >> 29)
}

/// The 64-bit hash of the n-gram `chars`; each head folds it into its own table size (`bucket`).
pub fn ngram_hash(chars: &[char]) -> u64 {
    chars.iter().fold(NGRAM_SEED, |h, &c| ngram_step(h, c))
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

/// Upper bounds (exclusive) of the length classes of `length_hash`, in feature-text characters.
const LENGTH_CLASSES: [usize; 10] = [6, 10, 14, 20, 28, 40, 56, 80, 112, 160];

/// The hash of the feature "the feature text is `len` characters long", by class (about √2 apart).
///
/// Why: a bag of n-grams under a unit norm says little about how long a message is, and length
/// is evidence (a bare code or a reply is short, a promotion is long). On the public zh set the
/// two classes differ in length more than real traffic does (its ham is mostly short fragments).
/// Off in the shipped model: on the dev folds it helped zh a little, on test it did not
/// (docs/model-card.md, "zh dev search, third round").
pub fn length_hash(len: usize) -> u64 {
    static HASHES: LazyLock<[u64; LENGTH_CLASSES.len() + 1]> =
        LazyLock::new(|| std::array::from_fn(|class| symbol_hash(&format!("\x01len:{class}"))));
    let class = LENGTH_CLASSES
        .iter()
        .position(|&t| len < t)
        .unwrap_or(LENGTH_CLASSES.len());
    HASHES[class]
}

/// The hash of the feature "whitespace between CJK characters was dropped" (`flags::CJK_SPACING`).
pub fn cjk_spacing_hash() -> u64 {
    symbol_hash("\x01flag:cjk_spacing")
}

/// The bucket of hash `h` in a table of 2^bits (Fibonacci hashing: the top bits of a multiply are
/// well mixed, so every table size sees an even spread).
pub fn bucket(h: u64, bits: u8) -> usize {
    (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - u32::from(bits))) as usize
}

/// Inverse document frequencies by hash bucket: what `extract` multiplies each term frequency by
/// before the L2 normalisation (TF-IDF, as the baseline's `TfidfVectorizer(sublinear_tf=True)`).
/// A bucket no training row had gets 0: an n-gram never seen in training carries no weight and
/// takes no share of the norm, as a word outside a fitted vocabulary. Stored in the model file.
#[derive(Debug, Clone, PartialEq)]
pub struct Idf {
    /// log2 of the buckets.
    pub bits: u8,
    /// idf = u8 × scale.
    pub scale: f32,
    pub table: Vec<u8>,
}

impl Idf {
    /// Smoothed idf, `ln((1 + rows) / (1 + df)) + 1`, of every bucket some of `rows` (each a
    /// message's features, each hash once) has, quantized to u8.
    pub fn fit<'a>(rows: impl Iterator<Item = &'a [(u64, f32)]>, bits: u8) -> Idf {
        let mut df = vec![0u32; 1usize << bits];
        let mut n = 0u64;
        for row in rows {
            n += 1;
            for &(h, _) in row {
                let b = bucket(h, bits);
                df[b] = df[b].saturating_add(1);
            }
        }
        let max = (n as f64 + 1.0).ln() + 1.0;
        let scale = (max / 255.0) as f32;
        let table = df
            .iter()
            .map(|&d| {
                if d == 0 {
                    return 0;
                }
                let idf = ((1.0 + n as f64) / (1.0 + f64::from(d))).ln() + 1.0;
                (idf / f64::from(scale)).round().clamp(1.0, 255.0) as u8
            })
            .collect();
        Idf { bits, scale, table }
    }

    #[inline]
    pub fn weight(&self, h: u64) -> f32 {
        self.table
            .get(bucket(h, self.bits))
            .map_or(0.0, |&q| f32::from(q) * self.scale)
    }

    /// Re-weights features made without idf (`extract` with `None`: unit-norm sublinear tf) and
    /// normalises again: the same vector `extract` with this table makes.
    pub fn apply(&self, features: &mut Vec<(u64, f32)>) {
        features.retain_mut(|(h, v)| {
            *v *= self.weight(*h);
            *v > 0.0
        });
        normalize(features);
    }
}

fn normalize(features: &mut [(u64, f32)]) {
    let norm2: f32 = features.iter().map(|f| f.1 * f.1).sum();
    if norm2 > 0.0 {
        let inv = 1.0 / norm2.sqrt();
        for f in features {
            f.1 *= inv;
        }
    }
}

/// Reusable buffers: the feature text and the (bucket, value) list of one message.
#[derive(Debug, Default)]
pub struct FeatureScratch {
    pub chars: Vec<char>,
    /// Open-addressing set of the message's distinct hashes: (generation, index in `features`);
    /// a slot of an older generation is empty, so nothing is cleared between messages.
    slots: Vec<(u32, u32)>,
    generation: u32,
    pub features: Vec<(u64, f32)>,
    /// After `extract_paired`: the paired byte of each feature's bucket, in `features`' order.
    pub margins: Vec<u8>,
}

impl FeatureScratch {
    /// Starts a message of at most `n` hashes; returns the slot mask to use.
    fn begin(&mut self, n: usize) -> usize {
        let size = (2 * n).next_power_of_two().max(64);
        if self.slots.len() < size {
            self.slots = vec![(0, 0); size];
            self.generation = 0;
        }
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.fill((0, 0));
            self.generation = 1;
        }
        self.features.clear();
        size - 1
    }

    /// Counts one occurrence of `h` (first occurrences in order, the count in the value).
    #[inline]
    fn add(&mut self, h: u64, mask: usize) {
        let mut i = (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize & mask;
        loop {
            let (g, idx) = self.slots[i];
            if g != self.generation {
                self.slots[i] = (self.generation, self.features.len() as u32);
                self.features.push((h, 1.0));
                return;
            }
            let f = &mut self.features[idx as usize];
            if f.0 == h {
                f.1 += 1.0;
                return;
            }
            i = (i + 1) & mask;
        }
    }
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

/// Fills `s.features` with the distinct (hash, value) pairs of `norm` and the given symbol hashes
/// (in order of first occurrence), unit L2 norm; values are sublinear tf times `idf` when given. `s.chars` keeps the
/// feature text (explanations use it).
pub fn extract(
    spec: FeatureSpec,
    norm: &NormalizedText,
    symbols: &[u64],
    idf: Option<&Idf>,
    s: &mut FeatureScratch,
) {
    feature_text(norm, &mut s.chars);
    extract_from_text(spec, symbols, idf, s);
}

/// `extract` for a scratch whose `chars` already hold the feature text (serving builds it once
/// for the model and the campaign fingerprint).
pub fn extract_from_text(
    spec: FeatureSpec,
    symbols: &[u64],
    idf: Option<&Idf>,
    s: &mut FeatureScratch,
) {
    count_features(spec, symbols, s);
    // Counts to sublinear tf × idf; a bucket the idf table never saw drops out.
    s.features.retain_mut(|(h, v)| {
        *v = sublinear(*v);
        if let Some(idf) = idf {
            *v *= idf.weight(*h);
        }
        *v > 0.0
    });
    normalize(&mut s.features);
}

/// `extract_from_text` weighted by the idf of a `PairedIdf`, which also leaves the paired byte of
/// every kept feature in `s.margins` (the same features and values, bit for bit).
pub fn extract_paired(
    spec: FeatureSpec,
    symbols: &[u64],
    paired: &PairedIdf,
    s: &mut FeatureScratch,
) {
    count_features(spec, symbols, s);
    s.margins.clear();
    let margins = &mut s.margins;
    s.features.retain_mut(|(h, v)| {
        *v = sublinear(*v);
        let [idf, margin] = paired.get(*h);
        *v *= f32::from(idf) * paired.scale;
        let kept = *v > 0.0;
        if kept {
            margins.push(margin);
        }
        kept
    });
    normalize(&mut s.features);
}

/// Fills `s.features` with the distinct hashes of the feature text's n-grams and `symbols`, each
/// with its count.
fn count_features(spec: FeatureSpec, symbols: &[u64], s: &mut FeatureScratch) {
    let n_max = usize::from(spec.max_n).min(MAX_N);
    let chars = std::mem::take(&mut s.chars);
    let mask = s.begin(chars.len() * n_max + symbols.len() + 1);
    for i in 0..chars.len() {
        let mut h = NGRAM_SEED;
        for (n, &c) in chars[i..].iter().take(n_max).enumerate() {
            h = ngram_step(h, c);
            // A lone start/end mark says nothing.
            if n == 0 && (c == START || c == END) {
                continue;
            }
            s.add(h, mask);
        }
    }
    if spec.length {
        // Without the start and end marks.
        s.add(length_hash(chars.len().saturating_sub(2)), mask);
    }
    s.chars = chars;
    for &h in symbols {
        s.add(h, mask);
    }
}

/// A count as sublinear term frequency, `1 + ln count`.
#[inline]
fn sublinear(count: f32) -> f32 {
    if count > 1.0 { 1.0 + count.ln() } else { count }
}

/// The idf table with one more byte per bucket beside each idf byte: the margin weight of the spam
/// head when its table has as many buckets (serving's layout, `ServingModel::new`).
///
/// Why: serving reads the idf and the spam weight of every n-gram, at the same random bucket of
/// two 4 MB tables. Side by side they are one cache line instead of two, and on the shared
/// development VM, where the tables rarely stay in cache, that was about 15% of classification
/// (benches/README.md). The pair replaces both tables, so memory does not grow.
#[derive(Debug, Clone)]
pub struct PairedIdf {
    /// log2 of the buckets.
    pub bits: u8,
    /// idf = first byte × scale.
    pub scale: f32,
    /// [idf byte, paired byte] by bucket.
    pub table: Vec<[u8; 2]>,
}

impl PairedIdf {
    /// Pairs `idf`'s bytes with `other`'s, which must have one byte per bucket too.
    pub fn new(idf: &Idf, other: &[i8]) -> Option<PairedIdf> {
        (idf.table.len() == other.len() && idf.table.len() == 1usize << idf.bits).then(|| {
            PairedIdf {
                bits: idf.bits,
                scale: idf.scale,
                table: idf
                    .table
                    .iter()
                    .zip(other)
                    .map(|(&q, &w)| [q, w as u8])
                    .collect(),
            }
        })
    }

    /// The two bytes of `h`'s bucket.
    #[inline]
    pub fn get(&self, h: u64) -> [u8; 2] {
        self.table
            .get(bucket(h, self.bits))
            .copied()
            .unwrap_or([0, 0])
    }

    pub fn bytes(&self) -> usize {
        self.table.len() * 2
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
    fn the_length_feature_is_one_class_per_message_and_only_when_asked() {
        let on = FeatureSpec {
            max_n: 3,
            cjk_spacing: false,
            length: true,
        };
        let mut s = FeatureScratch::default();
        let has = |s: &FeatureScratch, h: u64| s.features.iter().any(|f| f.0 == h);
        // "您的验证码是0" after digit collapsing: 7 characters, class [6, 10).
        extract(on, &norm("您的验证码是4821"), &[], None, &mut s);
        assert!(has(&s, length_hash(7)));
        assert_eq!(length_hash(7), length_hash(9));
        assert_ne!(length_hash(7), length_hash(10));
        assert!(!has(&s, length_hash(100)));
        let long = "春装到店啦，全场八折，".repeat(20);
        extract(on, &norm(&long), &[], None, &mut s);
        assert!(has(&s, length_hash(500)) && !has(&s, length_hash(7)));
        let off = FeatureSpec {
            length: false,
            ..on
        };
        extract(off, &norm("您的验证码是4821"), &[], None, &mut s);
        assert!(!has(&s, length_hash(7)));
    }

    #[test]
    fn features_are_unit_norm_and_distinct() {
        let spec = FeatureSpec {
            max_n: 3,
            cjk_spacing: false,
            length: false,
        };
        let n = norm("恭喜您获得大奖，请点击领取");
        let mut s = FeatureScratch::default();
        extract(spec, &n, &[symbol_hash("HAS_URL")], None, &mut s);
        let sum: f32 = s.features.iter().map(|f| f.1 * f.1).sum();
        assert!((sum - 1.0).abs() < 1e-4, "{sum}");
        let mut hashes: Vec<u64> = s.features.iter().map(|f| f.0).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), s.features.len());
        assert!(s.features.iter().all(|f| bucket(f.0, 18) < 1 << 18));
    }

    #[test]
    fn incremental_hashes_are_the_window_hashes_with_counts() {
        let spec = FeatureSpec {
            max_n: 3,
            cjk_spacing: false,
            length: false,
        };
        let n = norm("退订退订回T");
        let mut s = FeatureScratch::default();
        extract(spec, &n, &[], None, &mut s);
        // The explanation hashes windows one by one: every window must be a feature.
        let mut expected = std::collections::BTreeMap::<u64, u32>::new();
        for k in 1..=3 {
            for w in s.chars.windows(k) {
                if k == 1 && (w[0] == START || w[0] == END) {
                    continue;
                }
                *expected.entry(ngram_hash(w)).or_default() += 1;
            }
        }
        assert_eq!(s.features.len(), expected.len());
        let norm2: f32 = expected
            .values()
            .map(|&c| (1.0 + (c as f32).ln()).powi(2))
            .sum();
        for (h, v) in &s.features {
            let c = expected[h] as f32;
            assert!((v - (1.0 + c.ln()) / norm2.sqrt()).abs() < 1e-6, "{h}");
        }
    }

    #[test]
    fn idf_weights_rare_ngrams_and_drops_unseen_ones() {
        let spec = FeatureSpec {
            max_n: 2,
            cjk_spacing: false,
            length: false,
        };
        let rows: Vec<Vec<(u64, f32)>> = ["贷款利息低", "贷款快", "中奖了"]
            .iter()
            .map(|t| {
                let mut s = FeatureScratch::default();
                extract(spec, &norm(t), &[], None, &mut s);
                s.features
            })
            .collect();
        let idf = Idf::fit(rows.iter().map(Vec::as_slice), 12);
        let h = |t: &str| ngram_hash(&t.chars().collect::<Vec<_>>());
        assert!(idf.weight(h("利")) > idf.weight(h("贷")));
        assert!((idf.weight(h("贷")) - ((4.0f32 / 3.0).ln() + 1.0)).abs() < 0.05);
        // Re-weighting stored tf rows is the same as extracting with the table.
        let mut s = FeatureScratch::default();
        extract(spec, &norm("贷款利息低"), &[], Some(&idf), &mut s);
        let mut applied = rows[0].clone();
        idf.apply(&mut applied);
        assert_eq!(applied.len(), s.features.len());
        for (a, b) in applied.iter().zip(&s.features) {
            assert!(a.0 == b.0 && (a.1 - b.1).abs() < 1e-6);
        }
        // A message of n-grams no training row had has no features at all.
        extract(spec, &norm("天气"), &[], Some(&idf), &mut s);
        assert!(s.features.is_empty());
    }

    #[test]
    fn same_text_different_numbers_same_features() {
        let spec = FeatureSpec {
            max_n: 3,
            cjk_spacing: false,
            length: false,
        };
        let mut a = FeatureScratch::default();
        let mut b = FeatureScratch::default();
        extract(
            spec,
            &norm("您的验证码是4821，5分钟内有效"),
            &[],
            None,
            &mut a,
        );
        extract(
            spec,
            &norm("您的验证码是9033，15分钟内有效"),
            &[],
            None,
            &mut b,
        );
        assert_eq!(a.features, b.features);
        // A phone number is not a code: digit runs keep their length class.
        extract(
            spec,
            &norm("您的验证码是13800138000，5分钟内有效"),
            &[],
            None,
            &mut b,
        );
        assert_ne!(a.features, b.features);
        let mut t = Vec::new();
        feature_text(&norm("拨打13800138000，回复8或123"), &mut t);
        let t: String = t.into_iter().collect();
        assert_eq!(t, "\u{2}拨打000,回复0或00\u{3}");
    }
}
