//! `portcullis train` and `portcullis eval`: fit the content model on labeled files and score it.
//!
//! All heads (`labels`) share one feature vector per row: hashed n-grams and symbols weighted by an
//! idf table fitted on the training rows (`features::Idf`, stored in the model). The spam head is
//! a linear SVM, the fbs and category heads one SVM per class against the rest (`svm`, dual
//! coordinate descent; the category head's margins get a softmax temperature fitted on held-back
//! rows). AdaGrad SGD with weight averaging (softmax regression) remains for a head whose C is 0.
//! Everything runs in a seeded order on one thread, so the same data and seed
//! give the same model bytes. The spam head's probability is calibrated (Platt scaling through
//! the origin) on a held back tenth of the rows, then the model is refitted on all rows and keeps
//! that calibration. Weights are stored as i8 with one scale per head.

pub mod cli;
pub mod data;
pub mod eval;
pub mod feedback;
pub mod labels;
pub mod svm;

use std::path::PathBuf;

use crate::pipeline::classify::Classification;
use crate::pipeline::classify::features::{self, FeatureScratch, FeatureSpec, Idf};
use crate::pipeline::classify::model::{
    CATEGORY_HEAD, ContentModel, Head, HeadHeader, Header, IdfHeader, MAX_BITS, MIN_BITS, SPAM,
    SPAM_HEAD, UNSIGNED_SPAM_HEAD,
};
use crate::pipeline::classify::rules::RuleSet;
use crate::pipeline::normalize::{NormalizedText, Normalizer};
use labels::{FBS_HEAD, Targets};

/// Training settings (the `train` flags).
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub seed: u64,
    pub epochs: u32,
    /// log2 of the spam head's table (the head with the largest vocabulary).
    pub bits: u8,
    /// log2 of every other head's table.
    pub head_bits: u8,
    pub max_n: u8,
    pub learning_rate: f32,
    /// L2 penalty per update on the touched weights.
    pub l2: f32,
    /// The spam head's SVM C (`svm`).
    pub spam_c: f32,
    /// log2 of the idf table (`features::Idf`); 0: none.
    pub idf_bits: u8,
    /// C of the fbs head's one-vs-rest SVMs; 0: softmax regression by SGD like the category head.
    pub fbs_c: f32,
    /// C of the category head's one-vs-rest SVMs; 0: softmax regression by SGD. Chosen on a port
    /// dev split held out by template family: the SGD head on idf features called unseen kinds of
    /// SERVICE/VERIFICATION notice FRAUD_SUSPECT (FRAUD_SUSPECT was its catch-all class).
    pub category_c: f32,
    /// Weight of the fake-base-station rows in the category head (port rows: their repeats). At 1
    /// the ~1,600 FBS fraud rows make FRAUD_SUSPECT the head's broadest class; at 0 the head no
    /// longer knows FBS marketing/fraud and serving flagged half of FBS spam on dev.
    pub category_fbs_weight: f32,
    /// Factor on the category head's fitted softmax temperature: the temperature is fitted on
    /// held-back rows of families the head has seen, which is under-confident for the severe flag
    /// on families it has not (port dev: FRAUD_SUSPECT flagged 0.91 at 1, 0.94 at 2).
    pub category_sharpen: f32,
    /// Stopping tolerance of the spam head's SVM solver (liblinear's default 0.1).
    pub svm_tolerance: f32,
    /// Weight in the spam head's SVM of the rows labeled plainly `spam`/`ham` (the zh and en
    /// sets); fake-base-station rows weigh 1, port rows their repeats.
    pub binary_weight: f32,
    /// P(spam) at which `eval` calls a row spam in a spam/ham label space; stored in the model.
    /// None: 0.5. Serving does not use it (it has `policy.spam_reject_score`).
    pub spam_threshold: Option<f32>,
    /// Labels whose rows do not train the spam head (they still train their own heads), e.g. port
    /// MARKETING: whether a promotion is spam is decided by consent and opt-out policy, not text.
    pub spam_skip: Vec<String>,
    /// Companding power of the spam head's i8 weights (`HeadHeader::power`); None: linear.
    pub spam_power: Option<f32>,
    /// The feature "whitespace between CJK characters was dropped" (`FeatureSpec::cjk_spacing`).
    pub cjk_spacing: bool,
    /// The feature text's length class as a feature (`FeatureSpec::length`).
    pub length: bool,
    /// log2 of the table of a second spam head, `spam_unsigned`, fitted on the rows without a
    /// 【signature】 only; serving scores unsigned messages with it. 0: no such head.
    pub unsigned_bits: u8,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            seed: 1,
            epochs: 12,
            bits: 22,
            head_bits: 18,
            max_n: 3,
            learning_rate: 0.5,
            l2: 1e-6,
            spam_c: 10.0,
            idf_bits: 22,
            fbs_c: 10.0,
            category_c: 1.0,
            category_fbs_weight: 0.1,
            category_sharpen: 2.0,
            svm_tolerance: 0.1,
            binary_weight: 1.0,
            spam_threshold: None,
            spam_skip: Vec::new(),
            // Off: the shipped model was trained without them (docs/model-card.md, "zh dev search").
            spam_power: None,
            cjk_spacing: false,
            length: false,
            unsigned_bits: 0,
        }
    }
}

/// A training example: text and what it teaches.
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub targets: Targets,
}

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] data::DataError),
    #[error("{0}")]
    Invalid(String),
}

/// Reads the files and turns each label into its targets; an unknown label names its line.
pub fn load_examples(files: &[PathBuf]) -> Result<(Vec<Example>, serde_json::Value), TrainError> {
    let mut examples = Vec::new();
    let mut per_file = serde_json::Map::new();
    for path in files {
        let rows = data::read_tsv(path)?;
        let mut counts = std::collections::BTreeMap::<String, u64>::new();
        for row in rows {
            let Some(targets) = labels::targets(&row.label) else {
                return Err(TrainError::Invalid(format!(
                    "{}:{}: unknown label {:?} (known: spam, ham, the categories of API.md, the \
                     fake-base-station categories)",
                    path.display(),
                    row.line,
                    row.label
                )));
            };
            *counts.entry(row.label).or_default() += 1;
            examples.push(Example {
                text: row.text,
                targets,
            });
        }
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        per_file.insert(name, serde_json::to_value(counts).unwrap_or_default());
    }
    Ok((examples, serde_json::Value::Object(per_file)))
}

/// Normalizes, classifies with the rules and hashes one text, the way serving does.
pub struct Featurizer {
    normalizer: Normalizer,
    rules: RuleSet,
    spec: FeatureSpec,
    idf: Option<Idf>,
    symbol_hashes: Vec<u64>,
    norm: NormalizedText,
    class: Classification,
    scratch: FeatureScratch,
}

impl Featurizer {
    pub fn new(spec: FeatureSpec, idf: Option<Idf>, rules: RuleSet) -> Featurizer {
        let symbol_hashes = features::symbol_hashes(&rules);
        Featurizer {
            normalizer: Normalizer::default(),
            rules,
            spec,
            idf,
            symbol_hashes,
            norm: NormalizedText::default(),
            class: Classification::default(),
            scratch: FeatureScratch::default(),
        }
    }

    pub fn features(&mut self, text: &str) -> &[(u64, f32)] {
        self.normalizer.normalize_into(text, &mut self.norm);
        self.rules.classify(&self.norm, &mut self.class);
        let syms: Vec<u64> = self
            .class
            .symbols
            .iter()
            .filter_map(|id| self.symbol_hashes.get(usize::from(id.0)).copied())
            .chain(
                (self.spec.cjk_spacing
                    && self.norm.flags & crate::pipeline::normalize::flags::CJK_SPACING != 0)
                    .then(features::cjk_spacing_hash),
            )
            .collect();
        features::extract(
            self.spec,
            &self.norm,
            &syms,
            self.idf.as_ref(),
            &mut self.scratch,
        );
        &self.scratch.features
    }

    /// The rules' conclusion and the normalized text of the last `features` call.
    pub fn last(&self) -> (&NormalizedText, &Classification) {
        (&self.norm, &self.class)
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }
}

/// A prepared row: sparse features and the (head, class) pairs it trains.
struct Prepared {
    features: Vec<(u64, f32)>,
    targets: Vec<(usize, usize)>,
    repeats: u8,
    /// A fake-base-station row (its label has an fbs class).
    fbs: bool,
    /// A row labeled plainly spam or ham (no category, no other head).
    binary: bool,
    /// The normalizer found a 【signature】.
    signed: bool,
}

/// A head while training: f32 weights and AdaGrad accumulators.
struct TrainHead {
    name: String,
    bits: u8,
    labels: Vec<String>,
    weights: Vec<f32>,
    grad_sq: Vec<f32>,
    /// Σ step × update, for the averaged weights (`average`).
    sum: Vec<f32>,
    bias: Vec<f32>,
    bias_sq: Vec<f32>,
    bias_sum: Vec<f32>,
    steps: f32,
}

impl TrainHead {
    fn new(name: &str, labels: Vec<String>, bits: u8) -> TrainHead {
        let k = labels.len();
        let buckets = 1usize << bits;
        TrainHead {
            name: name.to_owned(),
            bits,
            labels,
            weights: vec![0.0; buckets * k],
            grad_sq: vec![0.0; buckets * k],
            sum: vec![0.0; buckets * k],
            bias_sum: vec![0.0; k],
            steps: 1.0,
            bias: vec![0.0; k],
            bias_sq: vec![0.0; k],
        }
    }

    fn logits(&self, features: &[(u64, f32)], out: &mut [f32]) {
        let k = self.labels.len();
        out[..k].copy_from_slice(&self.bias);
        for &(h, v) in features {
            let b = features::bucket(h, self.bits);
            let row = &self.weights[b * k..b * k + k];
            for (o, w) in out.iter_mut().zip(row) {
                *o += w * v;
            }
        }
    }

    fn step(&mut self, features: &[(u64, f32)], target: usize, opts: &TrainOptions) {
        let k = self.labels.len();
        let mut p = [0.0f32; 32];
        self.logits(features, &mut p);
        crate::pipeline::classify::model::softmax(&mut p[..k]);
        let lr = opts.learning_rate;
        for (c, &pc) in p[..k].iter().enumerate() {
            let g = pc - if c == target { 1.0 } else { 0.0 };
            self.bias_sq[c] += g * g;
            let d = lr * g / (self.bias_sq[c].sqrt() + 1e-6);
            self.bias[c] -= d;
            self.bias_sum[c] -= self.steps * d;
            for &(h, v) in features {
                let i = features::bucket(h, self.bits) * k + c;
                let gi = g * v + opts.l2 * self.weights[i];
                self.grad_sq[i] += gi * gi;
                let d = lr * gi / (self.grad_sq[i].sqrt() + 1e-6);
                self.weights[i] -= d;
                self.sum[i] -= self.steps * d;
            }
        }
        self.steps += 1.0;
    }

    /// Replaces the weights by their average over all steps (averaged SGD: the last iterate of
    /// SGD wanders; the average generalises better), computed lazily as w − Σ(step·Δ)/steps.
    fn average(&mut self) {
        let c = self.steps;
        for (w, s) in self.weights.iter_mut().zip(&self.sum) {
            *w -= s / c;
        }
        for (w, s) in self.bias.iter_mut().zip(&self.bias_sum) {
            *w -= s / c;
        }
    }

    /// i8 weights with one scale; with `margin_column`, only that column (the others are zero),
    /// companded with `power` when given (`HeadHeader::power`).
    fn quantize(&self, margin_column: Option<usize>, power: Option<f32>) -> Head {
        let k = self.labels.len();
        let kept: Vec<f32> = match margin_column {
            Some(c) => self.weights.iter().skip(c).step_by(k).copied().collect(),
            None => self.weights.clone(),
        };
        let max = kept.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
        let power = power.filter(|_| margin_column.is_some());
        let levels = crate::pipeline::classify::model::levels(scale, power);
        let weights = kept
            .iter()
            .map(|&w| match power {
                // The nearest level: levels 0..=127 are increasing.
                Some(p) => {
                    let q = (127.0 * (w.abs() / (127.0 * scale)).powf(1.0 / p))
                        .round()
                        .clamp(0.0, 127.0) as i8;
                    let q = [(q - 1).max(0), q, q.saturating_add(1)]
                        .into_iter()
                        .min_by(|a, b| {
                            let d = |x: &i8| (levels[usize::from(*x as u8)] - w.abs()).abs();
                            d(a).total_cmp(&d(b))
                        })
                        .unwrap_or(q);
                    if w < 0.0 { -q } else { q }
                }
                None => (w / scale).round().clamp(-127.0, 127.0) as i8,
            })
            .collect();
        Head {
            name: self.name.clone(),
            bits: self.bits,
            labels: self.labels.clone(),
            bias: self.bias.clone(),
            scale,
            margin_column,
            power,
            calibration: None,
            levels,
            weights,
        }
    }
}

/// splitmix64: a small, well-mixed, seedable generator (the order of SGD steps).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Trains a model. `provenance` (files and counts) is stored in the header for the model card.
pub fn train(
    examples: &[Example],
    opts: &TrainOptions,
    mut provenance: serde_json::Value,
) -> Result<ContentModel, TrainError> {
    for (flag, bits) in [("--bits", opts.bits), ("--head-bits", opts.head_bits)] {
        if !(MIN_BITS..=MAX_BITS).contains(&bits) {
            return Err(TrainError::Invalid(format!(
                "{flag} {bits} outside {MIN_BITS}..={MAX_BITS}"
            )));
        }
    }
    if opts.unsigned_bits != 0 && !(MIN_BITS..=MAX_BITS).contains(&opts.unsigned_bits) {
        return Err(TrainError::Invalid(format!(
            "--unsigned-bits {} outside {MIN_BITS}..={MAX_BITS} (or 0: no unsigned head)",
            opts.unsigned_bits
        )));
    }
    if opts.max_n == 0 || usize::from(opts.max_n) > features::MAX_N {
        return Err(TrainError::Invalid(format!(
            "--max-n {} outside 1..={}",
            opts.max_n,
            features::MAX_N
        )));
    }
    if let Some(p) = opts.spam_power
        && !(p.is_finite() && (0.25..=8.0).contains(&p))
    {
        return Err(TrainError::Invalid(format!(
            "--spam-power {p} outside 0.25..=8"
        )));
    }
    let spec = FeatureSpec {
        max_n: opts.max_n,
        cjk_spacing: opts.cjk_spacing,
        length: opts.length,
    };
    let has = |f: &dyn Fn(&Targets) -> bool| examples.iter().any(|e| f(&e.targets));
    if !has(&|t| t.spam == Some(true)) || !has(&|t| t.spam == Some(false)) {
        return Err(TrainError::Invalid(
            "training needs both spam and ham rows (a spam/ham file, or port categories)".into(),
        ));
    }

    // Heads: spam always; category and fbs when some row teaches them.
    let mut head_names = vec![SPAM_HEAD];
    if has(&|t| t.category.is_some()) {
        head_names.push(CATEGORY_HEAD);
    }
    if has(&|t| t.other.is_some()) {
        head_names.push(FBS_HEAD);
    }
    if opts.unsigned_bits > 0 {
        head_names.push(UNSIGNED_SPAM_HEAD);
    }
    let head_labels: Vec<Vec<String>> = head_names
        .iter()
        .map(|h| match *h {
            UNSIGNED_SPAM_HEAD => labels::head_labels(SPAM_HEAD),
            h => labels::head_labels(h),
        })
        .collect();

    let mut featurizer = Featurizer::new(spec, None, RuleSet::embedded());
    let mut prepared: Vec<Prepared> = examples
        .iter()
        .map(|e| {
            let features = featurizer.features(&e.text).to_vec();
            let signed = featurizer.last().0.signature.is_some();
            let mut targets = Vec::with_capacity(3);
            let mut add = |head: &str, label: &str| {
                let h = head_names.iter().position(|n| *n == head);
                if let Some(h) = h
                    && let Some(c) = head_labels[h].iter().position(|l| l == label)
                {
                    targets.push((h, c));
                }
            };
            let label = e
                .targets
                .other
                .map(|(_, l)| l)
                .or(e.targets.category.map(|c| c.as_str()));
            let skipped = label.is_some_and(|l| opts.spam_skip.iter().any(|s| s == l));
            if let Some(spam) = e.targets.spam
                && !skipped
            {
                add(SPAM_HEAD, if spam { "spam" } else { "ham" });
            }
            if let Some(category) = e.targets.category {
                add(CATEGORY_HEAD, category.as_str());
            }
            if let Some((head, label)) = e.targets.other {
                add(head, label);
            }
            Prepared {
                features,
                targets,
                repeats: e.targets.repeats.max(1),
                fbs: e.targets.other.is_some(),
                binary: e.targets.category.is_none() && e.targets.other.is_none(),
                signed,
            }
        })
        .collect();

    // Columns (spam, ham) of the spam head, head 0.
    let spam_cols = (
        head_labels[0].iter().position(|l| l == SPAM).unwrap_or(1),
        head_labels[0].iter().position(|l| l == "ham").unwrap_or(0),
    );
    if opts.unsigned_bits > 0 {
        let unsigned = |column: usize| {
            prepared
                .iter()
                .any(|r| !r.signed && r.targets.contains(&(0, column)))
        };
        if !unsigned(spam_cols.0) || !unsigned(spam_cols.1) {
            return Err(TrainError::Invalid(
                "--unsigned-bits needs spam and ham rows without a 【signature】".into(),
            ));
        }
    }

    // Idf over every row (labels unused), then the rows' features re-weighted by it.
    let idf = (opts.idf_bits > 0).then(|| {
        Idf::fit(
            prepared.iter().map(|r| r.features.as_slice()),
            opts.idf_bits,
        )
    });
    if let Some(idf) = &idf {
        for row in &mut prepared {
            idf.apply(&mut row.features);
        }
    }
    featurizer.idf = idf.clone();

    // Calibration: fit on 90%, fit Platt scaling of the spam head on the other 10%.
    let mut rng = SplitMix(opts.seed);
    let mut order: Vec<usize> = (0..prepared.len()).collect();
    rng.shuffle(&mut order);
    let held = order.len() / 10;
    let (calib_rows, fit_rows) = order.split_at(held);
    let heads = fit(&prepared, fit_rows, &head_names, &head_labels, opts);
    let margins = spam_margins(&heads[0], &prepared, calib_rows, spam_cols, |_| true);
    let calibration = platt(&margins);
    let unsigned_head = head_names.iter().position(|n| *n == UNSIGNED_SPAM_HEAD);
    let unsigned_margins = match unsigned_head {
        Some(u) => spam_margins(&heads[u], &prepared, calib_rows, spam_cols, |r| !r.signed),
        None => Vec::new(),
    };
    let unsigned_calibration = unsigned_head.map(|_| platt(&unsigned_margins));
    // The category head's SVM margins are no probabilities: one temperature for its softmax,
    // fitted on the same held-back rows (serving thresholds P(FRAUD_SUSPECT) and P(ILLEGAL)).
    let category = head_names.iter().position(|n| *n == CATEGORY_HEAD);
    let temperature = match category {
        Some(h) if opts.category_c > 0.0 => {
            let k = head_labels[h].len();
            let rows: Vec<(Vec<f32>, usize)> = calib_rows
                .iter()
                .filter_map(|&i| {
                    let row = &prepared[i];
                    let &(_, c) = row.targets.iter().find(|(hh, _)| *hh == h)?;
                    let mut z = [0.0f32; 32];
                    heads[h].logits(&row.features, &mut z);
                    Some((z[..k].to_vec(), c))
                })
                .collect();
            Some(softmax_temperature(&rows) * opts.category_sharpen)
        }
        _ => None,
    };

    let all: Vec<usize> = order.clone();
    let mut heads = fit(&prepared, &all, &head_names, &head_labels, opts);
    if let (Some(h), Some(t)) = (category, temperature) {
        let head = &mut heads[h];
        for w in head.weights.iter_mut().chain(head.bias.iter_mut()) {
            *w *= t;
        }
    }

    let mut learnt = serde_json::Map::new();
    for (h, name) in head_names.iter().enumerate() {
        let seen: Vec<String> = head_labels[h]
            .iter()
            .enumerate()
            .filter(|(c, _)| prepared.iter().any(|r| r.targets.contains(&(h, *c))))
            .map(|(_, l)| l.clone())
            .collect();
        learnt.insert((*name).to_owned(), seen.into());
    }
    if let serde_json::Value::Object(map) = &mut provenance {
        map.insert("learnt".into(), serde_json::Value::Object(learnt));
        map.insert("seed".into(), opts.seed.into());
        map.insert("epochs".into(), opts.epochs.into());
        map.insert("learning_rate".into(), f64::from(opts.learning_rate).into());
        map.insert("l2".into(), f64::from(opts.l2).into());
        map.insert("spam_c".into(), f64::from(opts.spam_c).into());
        map.insert("fbs_c".into(), f64::from(opts.fbs_c).into());
        map.insert("idf_bits".into(), opts.idf_bits.into());
        // Only when changed, so models trained with the defaults keep their bytes.
        if opts.svm_tolerance != 0.1 {
            map.insert("svm_tolerance".into(), f64::from(opts.svm_tolerance).into());
        }
        if !opts.spam_skip.is_empty() {
            map.insert("spam_skip".into(), opts.spam_skip.clone().into());
        }
        if opts.binary_weight != 1.0 {
            map.insert("binary_weight".into(), f64::from(opts.binary_weight).into());
        }
        map.insert("category_c".into(), f64::from(opts.category_c).into());
        map.insert(
            "category_fbs_weight".into(),
            f64::from(opts.category_fbs_weight).into(),
        );
        map.insert(
            "category_sharpen".into(),
            f64::from(opts.category_sharpen).into(),
        );
        if let Some(t) = temperature {
            map.insert("category_temperature".into(), f64::from(t).into());
        }
        map.insert("calibration_rows".into(), margins.len().into());
        if opts.unsigned_bits > 0 {
            map.insert("unsigned_bits".into(), opts.unsigned_bits.into());
            map.insert(
                "unsigned_calibration_rows".into(),
                unsigned_margins.len().into(),
            );
        }
        map.insert(
            "rules_symbols".into(),
            featurizer.rules().symbol_count().into(),
        );
    }
    // The spam heads are SVMs: their weights live in the spam column only.
    let quantized: Vec<Head> = heads
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let spam_like = i == 0 || Some(i) == unsigned_head;
            let mut q = h.quantize(spam_like.then_some(spam_cols.0), opts.spam_power);
            if Some(i) == unsigned_head {
                q.calibration = unsigned_calibration;
            }
            q
        })
        .collect();
    let mut header = Header {
        version: String::new(),
        max_n: spec.max_n,
        cjk_spacing: spec.cjk_spacing,
        length: spec.length,
        idf: idf.as_ref().map(|t| IdfHeader {
            bits: t.bits,
            scale: t.scale,
        }),
        heads: quantized
            .iter()
            .map(|h| HeadHeader {
                name: h.name.clone(),
                bits: h.bits,
                labels: h.labels.clone(),
                bias: h.bias.clone(),
                scale: h.scale,
                margin_column: h.margin_column,
                power: h.power,
                calibration: h.calibration,
            })
            .collect(),
        calibration,
        spam_threshold: opts.spam_threshold,
        provenance,
    };
    header.version = version_of(&header, idf.as_ref(), &quantized);
    Ok(ContentModel {
        header,
        spec,
        idf,
        heads: quantized,
    })
}

fn fit(
    prepared: &[Prepared],
    rows: &[usize],
    head_names: &[&str],
    head_labels: &[Vec<String>],
    opts: &TrainOptions,
) -> Vec<TrainHead> {
    let mut heads: Vec<TrainHead> = head_names
        .iter()
        .zip(head_labels)
        .map(|(n, l)| {
            let bits = match *n {
                SPAM_HEAD => opts.bits,
                UNSIGNED_SPAM_HEAD => opts.unsigned_bits,
                _ => opts.head_bits,
            };
            TrainHead::new(n, l.clone(), bits)
        })
        .collect();
    // The fbs head is one SVM per class (`--fbs-c`), fitted below; the others learn by SGD.
    let one_vs_rest: Vec<bool> = head_names
        .iter()
        .map(|n| {
            (*n == FBS_HEAD && opts.fbs_c > 0.0) || (*n == CATEGORY_HEAD && opts.category_c > 0.0)
        })
        .collect();
    let mut rng = SplitMix(opts.seed ^ 0x5EED);
    let mut order: Vec<usize> = rows
        .iter()
        .flat_map(|&i| std::iter::repeat_n(i, usize::from(prepared[i].repeats)))
        .collect();
    for _ in 0..opts.epochs {
        rng.shuffle(&mut order);
        for &i in &order {
            let row = &prepared[i];
            for &(h, c) in &row.targets {
                let skip =
                    head_names[h] == CATEGORY_HEAD && row.fbs && opts.category_fbs_weight <= 0.0;
                if h != 0 && !one_vs_rest[h] && !skip {
                    heads[h].step(&row.features, c, opts);
                }
            }
        }
    }
    for head in heads.iter_mut().skip(1) {
        head.average();
    }
    for (h, head) in heads.iter_mut().enumerate() {
        if one_vs_rest[h] {
            let c = if head_names[h] == FBS_HEAD {
                opts.fbs_c
            } else {
                opts.category_c
            };
            let fbs_weight = if head_names[h] == CATEGORY_HEAD {
                opts.category_fbs_weight
            } else {
                1.0
            };
            fit_one_vs_rest(head, h, prepared, rows, opts, c, fbs_weight);
        }
    }

    // The spam head (always head 0, columns ham and spam): the SVM's margin in the spam column;
    // `spam_unsigned` the same, on the unsigned rows only.
    let spam_col = head_labels[0].iter().position(|l| l == SPAM).unwrap_or(1);
    fit_spam_svm(&mut heads[0], prepared, rows, opts, spam_col, |_| true);
    if let Some(u) = head_names.iter().position(|n| *n == UNSIGNED_SPAM_HEAD) {
        fit_spam_svm(&mut heads[u], prepared, rows, opts, spam_col, |r| !r.signed);
    }
    heads
}

/// (margin, is spam) of spam head `head` on the `rows` with a spam/ham target (head 0's) that
/// `keep` accepts: what Platt scaling is fitted to.
fn spam_margins(
    head: &TrainHead,
    prepared: &[Prepared],
    rows: &[usize],
    (spam, ham): (usize, usize),
    keep: impl Fn(&Prepared) -> bool,
) -> Vec<(f32, bool)> {
    rows.iter()
        .filter_map(|&i| {
            let row = &prepared[i];
            let &(_, c) = row.targets.iter().find(|(h, _)| *h == 0)?;
            keep(row).then(|| {
                let mut z = [0.0f32; 32];
                head.logits(&row.features, &mut z);
                (z[spam] - z[ham], c == spam)
            })
        })
        .collect()
}

/// Fits `head` as the SVM of the spam/ham targets (head 0's) of the `rows` that `keep` accepts;
/// its weights go to column `spam_col`.
fn fit_spam_svm(
    head: &mut TrainHead,
    prepared: &[Prepared],
    rows: &[usize],
    opts: &TrainOptions,
    spam_col: usize,
    keep: impl Fn(&Prepared) -> bool,
) {
    let svm_rows: Vec<svm::SvmRow<'_>> = rows
        .iter()
        .filter_map(|&i| {
            let row = &prepared[i];
            let &(_, c) = row.targets.iter().find(|(h, _)| *h == 0)?;
            keep(row).then(|| svm::SvmRow {
                features: &row.features,
                spam: c == spam_col,
                weight: f32::from(row.repeats) * if row.binary { opts.binary_weight } else { 1.0 },
            })
        })
        .collect();
    let fitted = svm::fit(
        &svm_rows,
        &svm::SvmOptions {
            c: opts.spam_c,
            tolerance: opts.svm_tolerance,
            max_passes: 1000,
            bits: head.bits,
            seed: opts.seed,
        },
    );
    let k = head.labels.len();
    head.weights.fill(0.0);
    for (b, w) in fitted.weights.iter().enumerate() {
        head.weights[b * k + spam_col] = *w;
    }
    head.bias.fill(0.0);
    head.bias[spam_col] = fitted.bias;
}

fn version_of(header: &Header, idf: Option<&Idf>, heads: &[Head]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(serde_json::to_vec(header).unwrap_or_default());
    if let Some(idf) = idf {
        h.update(&idf.table);
    }
    for head in heads {
        h.update(head.weights.iter().map(|&w| w as u8).collect::<Vec<u8>>());
    }
    let digest = h.finalize();
    format!("pcm1-{}", hex::encode(&digest[..6]))
}

/// Platt scaling through the origin: fits P(spam) = sigmoid(a·m) to (margin, is_spam) by Newton's
/// method on the log loss, with Platt's smoothed targets; the stored b is 0. P = 0.5 stays at the
/// SVM's own decision boundary (margin 0): with a fitted intercept the boundary moved with the mix
/// of the held-back rows (fake-base-station rows are all spam), and on the dev splits that cost
/// 0.007 zh spam F1. Falls back to the identity when there is too little.
fn platt(data: &[(f32, bool)]) -> [f32; 2] {
    let pos = data.iter().filter(|d| d.1).count() as f64;
    let neg = data.len() as f64 - pos;
    if pos < 5.0 || neg < 5.0 {
        return [1.0, 0.0];
    }
    let hi = (pos + 1.0) / (pos + 2.0);
    let lo = 1.0 / (neg + 2.0);
    let mut a = 1.0f64;
    for _ in 0..100 {
        let (mut g, mut h) = (0.0, 1e-9);
        for &(m, y) in data {
            let m = f64::from(m);
            let t = if y { hi } else { lo };
            let p = 1.0 / (1.0 + (-(a * m)).exp());
            g += (p - t) * m;
            h += p * (1.0 - p) * m * m;
        }
        let d = g / h;
        a -= d;
        if d.abs() < 1e-7 {
            break;
        }
    }
    [a as f32, 0.0]
}

/// The temperature t that minimises the log loss of softmax(t · margins) over (margins, class)
/// rows (golden-section search over log t in [-3, 5]); 1 when there are too few rows.
fn softmax_temperature(rows: &[(Vec<f32>, usize)]) -> f32 {
    if rows.len() < 20 {
        return 1.0;
    }
    let loss = |t: f64| -> f64 {
        rows.iter()
            .map(|(z, c)| {
                let max = z
                    .iter()
                    .fold(f64::NEG_INFINITY, |m, &v| m.max(t * f64::from(v)));
                let sum: f64 = z.iter().map(|&v| (t * f64::from(v) - max).exp()).sum();
                max + sum.ln() - t * f64::from(z[*c])
            })
            .sum()
    };
    let (mut a, mut b) = (-3.0f64, 5.0f64);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..60 {
        let x1 = b - g * (b - a);
        let x2 = a + g * (b - a);
        if loss(x1.exp()) < loss(x2.exp()) {
            b = x2;
        } else {
            a = x1;
        }
    }
    ((a + b) / 2.0).exp() as f32
}

/// Fits head `h` as one SVM per class against the rest (liblinear's and LinearSVC's multi-class
/// scheme), on the rows that have a target in that head; its logits are the margins.
fn fit_one_vs_rest(
    head: &mut TrainHead,
    h: usize,
    prepared: &[Prepared],
    rows: &[usize],
    opts: &TrainOptions,
    c: f32,
    fbs_weight: f32,
) {
    let k = head.labels.len();
    let labelled: Vec<(usize, usize)> = rows
        .iter()
        .filter_map(|&i| {
            let &(_, class) = prepared[i].targets.iter().find(|(hh, _)| *hh == h)?;
            (!prepared[i].fbs || fbs_weight > 0.0).then_some((i, class))
        })
        .collect();
    head.weights.fill(0.0);
    for class in 0..k {
        if !labelled.iter().any(|&(_, c)| c == class) {
            // Never seen: never predicted over a class that was.
            head.bias[class] = -10.0;
            continue;
        }
        let svm_rows: Vec<svm::SvmRow<'_>> = labelled
            .iter()
            .map(|&(i, c)| svm::SvmRow {
                features: &prepared[i].features,
                spam: c == class,
                weight: f32::from(prepared[i].repeats)
                    * if prepared[i].fbs { fbs_weight } else { 1.0 },
            })
            .collect();
        let fitted = svm::fit(
            &svm_rows,
            &svm::SvmOptions {
                c,
                tolerance: 0.1,
                max_passes: 1000,
                bits: head.bits,
                seed: opts.seed ^ class as u64,
            },
        );
        for (b, w) in fitted.weights.iter().enumerate() {
            head.weights[b * k + class] = *w;
        }
        head.bias[class] = fitted.bias;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feature_options_are_stored_in_the_model_file() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/fixtures/model_train.tsv");
        let (examples, provenance) = load_examples(&[fixture]).unwrap();
        let opts = TrainOptions {
            bits: 14,
            head_bits: 12,
            idf_bits: 14,
            cjk_spacing: true,
            length: true,
            ..TrainOptions::default()
        };
        let on = train(&examples, &opts, provenance.clone()).unwrap();
        let loaded = ContentModel::from_bytes(&on.to_bytes()).unwrap();
        assert!(loaded.spec.length && loaded.spec.cjk_spacing);
        assert_eq!(loaded.header.version, on.header.version);
        let plain = TrainOptions {
            cjk_spacing: false,
            length: false,
            ..opts
        };
        let off = train(&examples, &plain, provenance).unwrap();
        let loaded = ContentModel::from_bytes(&off.to_bytes()).unwrap();
        assert!(!loaded.spec.length && !loaded.spec.cjk_spacing);
        assert_ne!(loaded.header.version, on.header.version);
    }

    /// Probability of spam that serving gives `text` under `model`.
    fn served_spam_probability(model: &ContentModel, text: &str) -> f32 {
        let rules = RuleSet::embedded();
        let serving = crate::pipeline::classify::model::ServingModel::new(
            std::sync::Arc::new(model.clone()),
            Default::default(),
            &rules,
        );
        let mut norm = NormalizedText::default();
        Normalizer::default().normalize_into(text, &mut norm);
        let mut class = crate::pipeline::classify::Classification::default();
        rules.classify(&norm, &mut class);
        serving.score(&norm, &class).spam_probability
    }

    #[test]
    fn unsigned_messages_are_scored_by_the_unsigned_head() {
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/fixtures/model_train.tsv");
        let (mut examples, provenance) = load_examples(&[fixture]).unwrap();
        // One promotion, spam where it comes unsigned (another channel's label) and legitimate
        // where a port sends it signed: the conflict the unsigned head exists for.
        for i in 0..40 {
            let promo = format!("秋季新品上市全场五折，进店再领满减券第{i}波");
            examples.push(Example {
                text: promo.clone(),
                targets: labels::targets("spam").unwrap(),
            });
            examples.push(Example {
                text: format!("【优选商城】{promo}，回T退订"),
                targets: labels::targets("MARKETING").unwrap(),
            });
        }
        let opts = TrainOptions {
            bits: 14,
            head_bits: 12,
            idf_bits: 14,
            ..TrainOptions::default()
        };
        let one = train(&examples, &opts, provenance.clone()).unwrap();
        let two = train(
            &examples,
            &TrainOptions {
                unsigned_bits: 13,
                ..opts
            },
            provenance,
        )
        .unwrap();
        let two = ContentModel::from_bytes(&two.to_bytes()).unwrap();
        let u = two.spam_head_for(false);
        assert_eq!(two.heads[u].name, UNSIGNED_SPAM_HEAD);
        assert_eq!(two.heads[u].bits, 13);
        assert_eq!(two.heads[two.spam_head_for(true)].name, SPAM_HEAD);
        assert_eq!(one.spam_head_for(false), one.spam_head_for(true));

        let unsigned = "秋季新品上市全场五折，进店再领满减券第99波";
        let signed = "【优选商城】秋季新品上市全场五折，进店再领满减券第99波，回T退订";
        let (p1, p2) = (
            served_spam_probability(&one, unsigned),
            served_spam_probability(&two, unsigned),
        );
        assert!(
            p2 > 0.5 && p2 > p1,
            "unsigned: {p1} without the head, {p2} with it"
        );
        // Signed messages keep the spam head, trained on the same rows either way.
        let (s1, s2) = (
            served_spam_probability(&one, signed),
            served_spam_probability(&two, signed),
        );
        assert!((s1 - s2).abs() < 1e-6, "signed: {s1} vs {s2}");

        // A file whose unsigned head lost its calibration is refused, with the reason.
        let mut broken = two.clone();
        broken.header.heads[u].calibration = None;
        let e = ContentModel::from_bytes(&broken.to_bytes()).unwrap_err();
        assert!(
            e.contains(UNSIGNED_SPAM_HEAD) && e.contains("calibration"),
            "{e}"
        );
    }

    #[test]
    fn companded_quantization_keeps_small_weights() {
        let mut head = TrainHead::new(SPAM_HEAD, vec!["ham".into(), "spam".into()], 8);
        head.weights[1] = 8.0; // bucket 0, spam column
        head.weights[3] = 0.05;
        head.weights[5] = -0.3;
        let linear = head.quantize(Some(1), None);
        assert_eq!(linear.weights[1], 1); // 0.05 / (8 / 127) = 0.79
        let q = head.quantize(Some(1), Some(2.0));
        let w = |b: usize| q.levels[usize::from(q.weights[b] as u8)];
        assert_eq!(w(0), 8.0);
        assert!((w(1) - 0.05).abs() < 0.01, "{}", w(1));
        assert!((w(2) + 0.3).abs() < 0.02, "{}", w(2));
    }

    #[test]
    fn platt_recovers_a_known_scaling() {
        // Margins whose true probability is sigmoid(2m).
        let mut data = Vec::new();
        let mut rng = SplitMix(7);
        for i in 0..4000 {
            let m = (i as f32 / 4000.0) * 6.0 - 3.0;
            let p = 1.0 / (1.0 + (-(2.0 * m)).exp());
            let u = (rng.next() >> 11) as f32 / (1u64 << 53) as f32;
            data.push((m, u < p));
        }
        let [a, b] = platt(&data);
        assert!((a - 2.0).abs() < 0.3 && b == 0.0, "{a} {b}");
    }
}
