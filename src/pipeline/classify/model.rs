//! The trained content model: a linear model over hashed character n-grams and rule symbols
//! (`features`), with one softmax *head* per label space. Rules catch what someone wrote a keyword
//! for; the model generalises to the next campaign. It runs after the rules, sees their symbols and
//! adds its evidence to the same `Classification`, so policy and the explanation stay in one place.
//!
//! Heads: `spam` (ham/spam: the spam score), `category` (API.md's categories: serving), and one per
//! other label set it was trained on (e.g. `fbs`, the fake-base-station categories), used by
//! `portcullis eval`. An optional `spam_unsigned` head gives the spam score of messages without a
//! 【signature】: legitimate port traffic is signed, and what a spam head learns from it (that a
//! promotion or a code can be legitimate) costs it on the unsigned texts of other channels.
//! Training lives in `crate::training`; this module only loads and scores.
//!
//! File format (gzip of): magic `PCMODEL\0`, u32 format version, u32 header length, the header as
//! JSON (heads with their table sizes, feature spec, idf table size, calibration, provenance), then
//! the idf table as u8 (when there is one), then each head's weights as i8 (bucket-major, one scale per head;
//! a margin-column head may store them companded, `HeadHeader::power`), then a SHA-256 of everything before it. A file that fails any check is
//! refused with the reason, and the model already serving keeps serving.

use std::fmt;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::features::{self, FeatureScratch, FeatureSpec, Idf, PairedIdf};
use crate::domain::Category;
use crate::pipeline::normalize::NormalizedText;

const MAGIC: &[u8; 8] = b"PCMODEL\0";
/// 2: digit runs became one mark per length class (`features::feature_text`); a version 1 model
/// would be scored on features it never saw, so it is refused.
/// 3: term frequencies are weighted by an idf table stored in the file (`features::Idf`); a
/// version 2 model learnt unweighted features, so it is refused too.
const FORMAT_VERSION: u32 = 3;
/// Refuse to inflate more than this: a model is a few MB; a corrupt length must not exhaust memory.
const MAX_INFLATED: u64 = 256 << 20;
/// Table sizes a head may have (log2 of buckets).
pub const MIN_BITS: u8 = 10;
pub const MAX_BITS: u8 = 24;

/// The head that gives the spam score, and its two classes.
pub const SPAM_HEAD: &str = "spam";
pub const SPAM: &str = "spam";
pub const HAM: &str = "ham";
/// The head whose classes are API.md's categories (VERIFICATION, ...).
pub const CATEGORY_HEAD: &str = "category";
/// The spam head for messages without a 【signature】 (optional; same shape as `spam`, with its own
/// calibration), fitted on the training rows without one.
pub const UNSIGNED_SPAM_HEAD: &str = "spam_unsigned";

#[derive(Debug, Clone, thiserror::Error)]
#[error("model {path}: {message}")]
pub struct ModelError {
    pub path: String,
    pub message: String,
}

impl ModelError {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> ModelError {
        ModelError {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// The JSON header of a model file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// "pcm1-" and the first 12 hex digits of the SHA-256 of the header (without this field) and
    /// weights: changes whenever anything in the model changes.
    pub version: String,
    pub max_n: u8,
    /// `FeatureSpec::cjk_spacing`; absent in older files: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cjk_spacing: bool,
    /// `FeatureSpec::length`; absent in older files: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub length: bool,
    /// The idf table (`features::Idf`), stored before the heads' weights; none: plain tf.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idf: Option<IdfHeader>,
    pub heads: Vec<HeadHeader>,
    /// Platt scaling of the spam head: P(spam) = sigmoid(a * (z_spam - z_ham) + b).
    pub calibration: [f32; 2],
    /// P(spam) at which `portcullis eval` calls a row spam in a spam/ham label space (chosen on
    /// dev splits); absent: 0.5. Serving thresholds the spam score by policy instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spam_threshold: Option<f32>,
    /// How it was trained: seed, epochs, rows per file, feedback rows (for the model card).
    pub provenance: serde_json::Value,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdfHeader {
    /// log2 of the table's buckets.
    pub bits: u8,
    /// idf = u8 × scale.
    pub scale: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadHeader {
    pub name: String,
    /// log2 of the head's hash buckets.
    pub bits: u8,
    pub labels: Vec<String>,
    pub bias: Vec<f32>,
    /// weight = i8 * scale (see `power`).
    pub scale: f32,
    /// Set when only this column has weights (the others are zero and not stored): a binary head
    /// whose margin is all that matters (the spam head's SVM) takes half the memory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin_column: Option<usize>,
    /// Companded weights (margin-column heads only): weight = sign(q) · 127 · scale · (|q|/127)^power.
    /// The SVM's weights are heavy-tailed (a few near the largest, most 100× smaller): with a
    /// linear i8 scale most of them rounded to 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power: Option<f32>,
    /// Platt scaling of a spam head other than `spam` (whose scaling is `Header::calibration`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<[f32; 2]>,
}

/// One softmax head.
#[derive(Debug, Clone)]
pub struct Head {
    pub name: String,
    pub bits: u8,
    pub labels: Vec<String>,
    pub bias: Vec<f32>,
    pub scale: f32,
    /// See `HeadHeader::margin_column`.
    pub margin_column: Option<usize>,
    /// See `HeadHeader::power`.
    pub power: Option<f32>,
    /// See `HeadHeader::calibration`.
    pub calibration: Option<[f32; 2]>,
    /// The weight of each stored byte (`q as u8` indexes it): `levels(scale, power)`.
    pub levels: Vec<f32>,
    /// buckets × stored columns (labels, or 1 with `margin_column`), bucket-major.
    pub weights: Vec<i8>,
}

/// The weight each i8 stands for, indexed by the byte (`q as u8`): q × scale, or companded with
/// `power` (`HeadHeader::power`).
pub fn levels(scale: f32, power: Option<f32>) -> Vec<f32> {
    (0..=255u8)
        .map(|b| {
            let q = f32::from(b as i8);
            match power {
                Some(p) => q.signum() * 127.0 * scale * (q.abs().min(127.0) / 127.0).powf(p),
                None => q * scale,
            }
        })
        .collect()
}

impl Head {
    pub fn classes(&self) -> usize {
        self.labels.len()
    }

    pub fn label_index(&self, label: &str) -> Option<usize> {
        self.labels.iter().position(|l| l == label)
    }

    /// The columns of `spam` and `ham` in the spam head (`load` refuses a model without them).
    pub fn spam_ham(&self) -> (usize, usize) {
        (
            self.label_index(SPAM).unwrap_or(1),
            self.label_index(HAM).unwrap_or(0),
        )
    }

    /// Weight columns stored per bucket.
    pub fn stored_columns(&self) -> usize {
        if self.margin_column.is_some() {
            1
        } else {
            self.classes()
        }
    }

    /// Raw scores (logits) of every class for `features` into `out` (length = classes).
    pub fn logits(&self, features: &[(u64, f32)], out: &mut [f32]) {
        let k = self.classes();
        out[..k].copy_from_slice(&self.bias);
        if let Some(c) = self.margin_column {
            let mut acc = 0.0f32;
            if self.power.is_none() {
                // Linear: the multiply by `scale` once, after the sum (the hot path of serving).
                for &(hash, value) in features {
                    if let Some(&w) = self.weights.get(features::bucket(hash, self.bits)) {
                        acc += f32::from(w) * value;
                    }
                }
                out[c] += acc * self.scale;
                return;
            }
            for &(hash, value) in features {
                if let Some(&w) = self.weights.get(features::bucket(hash, self.bits)) {
                    acc += self.levels[usize::from(w as u8)] * value;
                }
            }
            out[c] += acc;
            return;
        }
        let mut acc = [0.0f32; 32];
        // The serving heads' widths get loops the compiler can unroll.
        match k {
            7 => self.accumulate::<7>(features, &mut acc),
            14 => self.accumulate::<14>(features, &mut acc),
            _ => {
                let acc = &mut acc[..k.min(32)];
                for &(hash, value) in features {
                    let start = features::bucket(hash, self.bits) * k;
                    if let Some(row) = self.weights.get(start..start + k) {
                        for (a, &w) in acc.iter_mut().zip(row) {
                            *a += f32::from(w) * value;
                        }
                    }
                }
            }
        }
        for (o, a) in out.iter_mut().zip(acc.iter()) {
            *o += a * self.scale;
        }
    }

    /// `logits`' sum for a head of `K` stored columns.
    #[inline]
    fn accumulate<const K: usize>(&self, features: &[(u64, f32)], acc: &mut [f32; 32]) {
        let mut sum = [0.0f32; K];
        for &(hash, value) in features {
            let start = features::bucket(hash, self.bits) * K;
            if let Some(row) = self
                .weights
                .get(start..start + K)
                .and_then(|r| <&[i8; K]>::try_from(r).ok())
            {
                for (a, &w) in sum.iter_mut().zip(row) {
                    *a += f32::from(w) * value;
                }
            }
        }
        acc[..K].copy_from_slice(&sum);
    }

    /// `logits` of a margin-column head whose weights were moved into a `PairedIdf`: `margins`
    /// holds each feature's weight byte (`features::extract_paired`). The same sums in the same
    /// order as `logits`, so the same bits.
    pub fn logits_from_margins(&self, features: &[(u64, f32)], margins: &[u8], out: &mut [f32]) {
        let k = self.classes();
        out[..k].copy_from_slice(&self.bias);
        let Some(c) = self.margin_column else {
            return;
        };
        let mut acc = 0.0f32;
        if self.power.is_none() {
            for (&(_, value), &w) in features.iter().zip(margins) {
                acc += f32::from(w as i8) * value;
            }
            out[c] += acc * self.scale;
            return;
        }
        for (&(_, value), &w) in features.iter().zip(margins) {
            acc += self.levels[usize::from(w)] * value;
        }
        out[c] += acc;
    }

    /// The contribution of one bucket to the margin of class `a` over class `b`.
    fn margin_weight(&self, hash: u64, a: usize, b: usize) -> f32 {
        let k = self.stored_columns();
        let start = features::bucket(hash, self.bits) * k;
        self.margin_of_row(self.weights.get(start..start + k).unwrap_or(&[]), a, b)
    }

    /// The margin of class `a` over class `b` of one bucket whose stored bytes are `row`.
    fn margin_of_row(&self, row: &[i8], a: usize, b: usize) -> f32 {
        let column = |c: usize| match self.margin_column {
            Some(m) if m == c => row.first().copied().unwrap_or(0),
            Some(_) => 0,
            None => row.get(c).copied().unwrap_or(0),
        };
        self.levels[usize::from(column(a) as u8)] - self.levels[usize::from(column(b) as u8)]
    }
}

/// A loaded model.
#[derive(Debug, Clone)]
pub struct ContentModel {
    pub header: Header,
    pub spec: FeatureSpec,
    pub idf: Option<Idf>,
    pub heads: Vec<Head>,
}

impl ContentModel {
    pub fn version(&self) -> &str {
        &self.header.version
    }

    pub fn head(&self, name: &str) -> Option<&Head> {
        self.heads.iter().find(|h| h.name == name)
    }

    /// Bytes of weights (and the idf table) held in memory.
    pub fn weight_bytes(&self) -> usize {
        self.heads.iter().map(|h| h.weights.len()).sum::<usize>()
            + self.idf.as_ref().map_or(0, |t| t.table.len())
    }

    /// Loads and checks a model file.
    pub fn load(path: &Path) -> Result<ContentModel, ModelError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path)
            .map_err(|e| ModelError::new(&shown, format!("cannot read: {e}")))?;
        ContentModel::from_bytes(&bytes).map_err(|m| ModelError::new(shown, m))
    }

    /// Parses a model file's bytes (gzip); the error says what is wrong, for `ModelError`.
    pub fn from_bytes(gz: &[u8]) -> Result<ContentModel, String> {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .take(MAX_INFLATED)
            .read_to_end(&mut raw)
            .map_err(|e| format!("not a gzip model file or truncated ({e})"))?;
        if raw.len() < MAGIC.len() + 8 + 32 {
            return Err(format!("too short ({} bytes inflated)", raw.len()));
        }
        let (body, digest) = raw.split_at(raw.len() - 32);
        if Sha256::digest(body)[..] != *digest {
            return Err("checksum mismatch: the file is corrupt or truncated".into());
        }
        let mut r = Reader { buf: body, pos: 0 };
        if r.take(8)? != MAGIC {
            return Err("not a Portcullis model (bad magic)".into());
        }
        let format = r.u32()?;
        if format != FORMAT_VERSION {
            return Err(format!(
                "format version {format}, this build reads {FORMAT_VERSION} only (features \
                 changed; retrain with `portcullis train`)"
            ));
        }
        let header_len = r.u32()? as usize;
        let header: Header =
            serde_json::from_slice(r.take(header_len)?).map_err(|e| format!("bad header: {e}"))?;
        if header.max_n == 0 || usize::from(header.max_n) > features::MAX_N {
            return Err(format!(
                "max_n {} outside 1..={}",
                header.max_n,
                features::MAX_N
            ));
        }
        let spec = FeatureSpec {
            max_n: header.max_n,
            cjk_spacing: header.cjk_spacing,
            length: header.length,
        };
        let idf = match header.idf {
            Some(t) => {
                let valid =
                    (MIN_BITS..=MAX_BITS).contains(&t.bits) && t.scale.is_finite() && t.scale > 0.0;
                if !valid {
                    return Err(format!("idf table: bits {} or scale {}", t.bits, t.scale));
                }
                Some(Idf {
                    bits: t.bits,
                    scale: t.scale,
                    table: r.take(1usize << t.bits)?.to_vec(),
                })
            }
            None => None,
        };
        let mut heads = Vec::with_capacity(header.heads.len());
        for h in &header.heads {
            let k = h.labels.len();
            if !(2..=32).contains(&k) || h.bias.len() != k || !h.scale.is_finite() {
                return Err(format!("head {}: inconsistent shape", h.name));
            }
            if !(MIN_BITS..=MAX_BITS).contains(&h.bits) {
                return Err(format!(
                    "head {}: bits {} outside {MIN_BITS}..={MAX_BITS}",
                    h.name, h.bits
                ));
            }
            if let Some(p) = h.power
                && (h.margin_column.is_none() || !(p.is_finite() && (0.25..=8.0).contains(&p)))
            {
                return Err(format!(
                    "head {}: power {p} (0.25..=8, margin-column heads only)",
                    h.name
                ));
            }
            let stored = match h.margin_column {
                Some(c) if c < k => 1,
                Some(c) => return Err(format!("head {}: margin column {c} of {k}", h.name)),
                None => k,
            };
            let weights = r
                .take((1usize << h.bits) * stored)?
                .iter()
                .map(|&b| b as i8)
                .collect();
            heads.push(Head {
                name: h.name.clone(),
                bits: h.bits,
                labels: h.labels.clone(),
                bias: h.bias.clone(),
                scale: h.scale,
                margin_column: h.margin_column,
                power: h.power,
                calibration: h.calibration,
                levels: levels(h.scale, h.power),
                weights,
            });
        }
        if r.pos != body.len() {
            return Err(format!("{} trailing bytes", body.len() - r.pos));
        }
        let model = ContentModel {
            header,
            spec,
            idf,
            heads,
        };
        let spam = model
            .head(SPAM_HEAD)
            .ok_or_else(|| format!("no `{SPAM_HEAD}` head"))?;
        if spam.label_index(SPAM).is_none() || spam.label_index(HAM).is_none() {
            return Err(format!("the `{SPAM_HEAD}` head lacks `spam` or `ham`"));
        }
        if let Some(u) = model.head(UNSIGNED_SPAM_HEAD) {
            let calibrated = u
                .calibration
                .is_some_and(|c| c.iter().all(|x| x.is_finite()));
            if u.label_index(SPAM).is_none() || u.label_index(HAM).is_none() || !calibrated {
                return Err(format!(
                    "the `{UNSIGNED_SPAM_HEAD}` head needs `spam`, `ham` and a finite calibration"
                ));
            }
        }
        Ok(model)
    }

    /// Serializes to the file format (deterministic: same model, same bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let header = serde_json::to_vec(&self.header).unwrap_or_default();
        let mut raw = Vec::with_capacity(self.weight_bytes() + header.len() + 64);
        raw.extend_from_slice(MAGIC);
        raw.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        raw.extend_from_slice(&(header.len() as u32).to_le_bytes());
        raw.extend_from_slice(&header);
        if let Some(idf) = &self.idf {
            raw.extend_from_slice(&idf.table);
        }
        for h in &self.heads {
            raw.extend(h.weights.iter().map(|&w| w as u8));
        }
        let digest = Sha256::digest(&raw);
        raw.extend_from_slice(&digest);
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::best());
        use std::io::Write;
        // Writing to a Vec cannot fail.
        let _ = gz.write_all(&raw);
        gz.finish().unwrap_or_default()
    }

    /// The spam head that scores a message: `spam_unsigned` for one without a 【signature】 when
    /// the model has it, else `spam`. Serving caches the answer; this looks the heads up by name.
    pub fn spam_head_for(&self, signed: bool) -> usize {
        let by_name = |n: &str| self.heads.iter().position(|h| h.name == n);
        (!signed)
            .then(|| by_name(UNSIGNED_SPAM_HEAD))
            .flatten()
            .or_else(|| by_name(SPAM_HEAD))
            .unwrap_or(0)
    }

    /// Calibrated P(spam) from the logits of spam head `head` (its own calibration, or the
    /// header's for `spam`).
    pub fn spam_probability(&self, head: &Head, logits: &[f32]) -> f32 {
        let (spam, ham) = head.spam_ham();
        let [a, b] = head.calibration.unwrap_or(self.header.calibration);
        let z = a * (logits[spam] - logits[ham]) + b;
        1.0 / (1.0 + (-z).exp())
    }
}

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let Some(end) = end else {
            return Err("truncated".into());
        };
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Softmax in place.
pub fn softmax(x: &mut [f32]) {
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in x.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    if sum > 0.0 {
        for v in x.iter_mut() {
            *v /= sum;
        }
    }
}

/// What the model may decide while serving (`[model]` in portcullis.toml).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelSettings {
    /// Shadow mode: score and report (symbols with `:monitor`), change nothing.
    pub monitor: bool,
    /// P(FRAUD_SUSPECT) at or above this makes the message FRAUD_SUSPECT (REASON_FRAUD_SUSPECT).
    pub fraud_threshold: f32,
    /// P(ILLEGAL) at or above this makes it ILLEGAL (REASON_ILLEGAL_CONTENT).
    pub illegal_threshold: f32,
    /// The model's spam score at or above this raises MODEL_SPAM (and explains it); config sets it
    /// to `policy.spam_reject_score`, which decides REASON_SPAM_CONTENT.
    pub spam_threshold: f32,
    /// Evidence the model adds to the rules' category scores: P(category) × this.
    pub category_weight: f32,
    /// When the rules recognised a verification code (or an anti-fraud warning, the one SERVICE
    /// rule as strong) on their own (`CODE_RULE_EVIDENCE`), the
    /// model's spam score is multiplied by 1 − this (`benign`); 0 turns it off.
    pub code_rule_discount: f32,
    /// A signed message that offers no way to reach anyone but the signer's official channels
    /// (`NormalizedText::offers_contact`) is not called FRAUD_SUSPECT, the category head's fraud
    /// belief counts as benign for it (`benign`), and the rules' fraud evidence is taken back
    /// (`classify::classify`).
    pub signed_fraud_needs_contact: bool,
}

/// Rule evidence for VERIFICATION that one code rule gives on its own (rules.toml's weight scale:
/// ~3.5 is decisive): a code word next to a 4–8-digit code, not just a "valid for 5 minutes". The
/// same for SERVICE: `ANTI_FRAUD_NOTICE` (4.0).
const CODE_RULE_EVIDENCE: f32 = 3.5;

impl Default for ModelSettings {
    fn default() -> Self {
        ModelSettings {
            monitor: false,
            fraud_threshold: 0.7,
            illegal_threshold: 0.7,
            spam_threshold: 0.5,
            category_weight: 2.0,
            code_rule_discount: 0.5,
            signed_fraud_needs_contact: true,
        }
    }
}

/// The share of the category head's belief on kinds of message the port rules govern rather than
/// content scoring: verification codes, service notices and collection notices, and commercial
/// messages that name their sender and offer an opt-out (consent and opt-out policy decide those),
/// and fraud that a signed message cannot be without a channel (`NormalizedText::offers_contact`).
/// The spam head learnt "spam" mostly from other channels (shop promotions, fake base stations),
/// where a code, an amount or a promotion is a spam sign; on port traffic of these kinds it is not.
///
/// `code_rule` is a second, independent opinion: the rules recognised a verification code, which
/// they do from the wording alone, also for layouts the category head never saw (on port families
/// held out of training, English codes such as "Use 482913 to verify your account" scored 0.83–0.997
/// spam with the head's belief alone). The two combine as independent beliefs.
///
/// The head's belief counts only for text like what it learnt from: Chinese, or signed as port
/// traffic is. It was trained on Chinese port traffic, so on an unsigned message in another script
/// (English consumer spam) its argmax is a guess, and it guessed a port-governed kind with enough
/// confidence to discount almost every English spam under the reject line.
fn benign(
    out: &ModelOutput,
    head_applies: bool,
    compliant_commercial: bool,
    code_rule: f32,
    signed_without_contact: bool,
) -> f32 {
    if !head_applies {
        return code_rule.clamp(0.0, 1.0);
    }
    let p = |c: Category| out.category_probability[c.index()];
    let mut mass = p(Category::Verification) + p(Category::Service) + p(Category::Collection);
    if compliant_commercial {
        mass += p(Category::Marketing) + p(Category::LoanMarketing);
    }
    if signed_without_contact {
        mass += p(Category::FraudSuspect);
    }
    let head = mass.clamp(0.0, 1.0);
    1.0 - (1.0 - head) * (1.0 - code_rule.clamp(0.0, 1.0))
}

/// CJK unified ideographs and extension A: what makes a text Chinese to the category head.
fn is_cjk_ideograph(c: char) -> bool {
    ('\u{3400}'..='\u{9fff}').contains(&c)
}

/// What the model concluded about one message (Copy, no allocation), kept in `Classification`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ModelOutput {
    /// The spam head's calibrated P(spam).
    pub spam_probability: f32,
    /// What serving counts: P(spam) × (1 − the category head's belief in a port-governed kind of
    /// message, `benign`). Equal to `spam_probability` without a category head.
    pub spam_score: f32,
    /// Indexed by `Category::index()`; zeros for a category the model has no class for.
    pub category_probability: [f32; 7],
    /// `FLAG_*` bits: what the model raised on its own.
    pub flags: u8,
    /// The n-grams that pushed hardest towards the flag, strongest first.
    pub evidence: [Ngram; 3],
    /// Shadow mode: nothing of this changed the classification.
    pub monitored: bool,
}

pub const FLAG_SPAM: u8 = 1;
pub const FLAG_FRAUD: u8 = 2;
pub const FLAG_ILLEGAL: u8 = 4;

impl ModelOutput {
    /// The symbols this output reports: MODEL_SPAM, MODEL_FRAUD_SUSPECT, MODEL_ILLEGAL, then
    /// NGRAM:<text> for each piece of evidence.
    pub fn symbols(&self) -> impl Iterator<Item = String> + '_ {
        let flags = [
            (FLAG_SPAM, "MODEL_SPAM"),
            (FLAG_FRAUD, "MODEL_FRAUD_SUSPECT"),
            (FLAG_ILLEGAL, "MODEL_ILLEGAL"),
        ];
        flags
            .into_iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|(_, name)| name.to_owned())
            .chain(
                self.evidence
                    .iter()
                    .filter(|n| n.len > 0)
                    .map(|n| format!("NGRAM:{n}")),
            )
    }
}

/// A short n-gram of the feature text, inline.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct Ngram {
    chars: [char; features::MAX_N],
    len: u8,
}

impl Ngram {
    fn new(chars: &[char]) -> Ngram {
        let mut n = Ngram::default();
        for (slot, c) in n.chars.iter_mut().zip(chars) {
            *slot = *c;
        }
        n.len = chars.len().min(features::MAX_N) as u8;
        n
    }
}

impl fmt::Display for Ngram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut last = None;
        for &c in &self.chars[..usize::from(self.len)] {
            match c {
                '\u{2}' => f.write_str("^")?,
                '\u{3}' => f.write_str("$")?,
                features::URL_MARK => f.write_str("<URL>")?,
                // One digit run is up to three marks (its length class): one <NUM> for the run.
                features::DIGITS_MARK if last == Some(c) => {}
                features::DIGITS_MARK => f.write_str("<NUM>")?,
                c => write!(f, "{c}")?,
            }
            last = Some(c);
        }
        Ok(())
    }
}

impl fmt::Debug for Ngram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ngram({self})")
    }
}

/// A model bound to the rule set it serves beside (symbol ids → feature buckets) and its settings:
/// what a `Snapshot` holds.
#[derive(Debug, Clone)]
pub struct ServingModel {
    /// The loaded model, except what `paired` took from it (then its `idf` is `None` and the
    /// paired head's `weights` are empty): serving reads those two only through `paired`.
    model: std::sync::Arc<ContentModel>,
    pub settings: ModelSettings,
    /// The idf table with the `spam` head's margin weights beside it (`PairedIdf`), when the two
    /// have as many buckets (every shipped model); the head is `spam.0`.
    paired: Option<PairedIdf>,
    /// Feature hash per rule SymbolId.
    symbol_hashes: Vec<u64>,
    /// (head, spam column, ham column) of the spam head for signed messages, and for unsigned.
    spam: (usize, usize, usize),
    unsigned_spam: (usize, usize, usize),
    /// Column of each Category in the category head.
    category_columns: [Option<usize>; 7],
    category_head: Option<usize>,
}

impl ServingModel {
    pub fn new(
        model: std::sync::Arc<ContentModel>,
        settings: ModelSettings,
        rules: &super::rules::RuleSet,
    ) -> ServingModel {
        ServingModel::build(model, settings, rules, true)
    }

    /// `new`, with the idf and spam tables paired (`PairedIdf`) or left as loaded (the tests show
    /// both layouts conclude the same).
    fn build(
        model: std::sync::Arc<ContentModel>,
        settings: ModelSettings,
        rules: &super::rules::RuleSet,
        pair: bool,
    ) -> ServingModel {
        let symbol_hashes = features::symbol_hashes(rules);
        let columns = |head: usize| {
            let (s, h) = model.heads[head].spam_ham();
            (head, s, h)
        };
        let spam = columns(model.spam_head_for(true));
        let unsigned_spam = columns(model.spam_head_for(false));
        let (model, paired) = if pair {
            pair_idf_with(model, spam.0)
        } else {
            (model, None)
        };
        let category_head = model.heads.iter().position(|h| h.name == CATEGORY_HEAD);
        let mut category_columns = [None; 7];
        if let Some(h) = category_head {
            for c in Category::ALL {
                category_columns[c.index()] = model.heads[h].label_index(c.as_str());
            }
        }
        ServingModel {
            model,
            settings,
            paired,
            symbol_hashes,
            spam,
            unsigned_spam,
            category_columns,
            category_head,
        }
    }

    pub fn version(&self) -> &str {
        self.model.version()
    }

    /// Bytes of weights in memory (the tables `paired` took counted once, in their new place).
    pub fn weight_bytes(&self) -> usize {
        self.model.weight_bytes() + self.paired.as_ref().map_or(0, PairedIdf::bytes)
    }

    /// Scores `norm` (whose rules' conclusion is `class`) and returns what the model concluded.
    /// Allocates nothing once this thread's scratch has grown.
    pub fn score(&self, norm: &NormalizedText, class: &super::Classification) -> ModelOutput {
        features::with_scratch(|s| {
            features::feature_text(norm, &mut s.chars);
            self.score_text(s, norm, class, self.fraud_needs_channel(norm, class))
        })
    }

    /// The signed-message fraud gate (`ModelSettings::signed_fraud_needs_contact`) holds for
    /// `norm`, whose rules' conclusion is `class`: it is signed and offers no channel but the
    /// signer's own, neither in the text (`offers_contact`) nor as a rule whose match is one
    /// (`Classification::names_channel`, e.g. a fee demanded before a payout). `classify` asks
    /// once and applies the answer to the rules and the model alike.
    pub fn fraud_needs_channel(
        &self,
        norm: &NormalizedText,
        class: &super::Classification,
    ) -> bool {
        self.settings.signed_fraud_needs_contact
            && norm.signature.is_some()
            && !class.names_channel
            && !norm.offers_contact()
    }

    /// `score` for a scratch whose `chars` already hold `norm`'s feature text;
    /// `signed_without_contact` is `fraud_needs_channel(norm, class)`.
    pub fn score_text(
        &self,
        s: &mut FeatureScratch,
        norm: &NormalizedText,
        class: &super::Classification,
        signed_without_contact: bool,
    ) -> ModelOutput {
        let mut syms = [0u64; 64];
        let mut n = 0;
        for id in class.symbols.iter().take(syms.len()) {
            if let Some(&b) = self.symbol_hashes.get(usize::from(id.0)) {
                syms[n] = b;
                n += 1;
            }
        }
        if self.model.spec.cjk_spacing
            && norm.flags & crate::pipeline::normalize::flags::CJK_SPACING != 0
            && n < syms.len()
        {
            syms[n] = features::cjk_spacing_hash();
            n += 1;
        }
        match &self.paired {
            Some(paired) => features::extract_paired(self.model.spec, &syms[..n], paired, s),
            None => {
                features::extract_from_text(self.model.spec, &syms[..n], self.model.idf.as_ref(), s)
            }
        }
        let compliant = norm.signature.is_some() && norm.optout_notice;
        // A verification code, or an anti-fraud warning (the one SERVICE rule as decisive: police
        // and banks quote every scam word in them, and the spam head learnt those words).
        let code_rule = match class.category {
            Some(c @ (Category::Verification | Category::Service))
                if class.category_scores[c.index()] >= CODE_RULE_EVIDENCE =>
            {
                self.settings.code_rule_discount
            }
            _ => 0.0,
        };
        let signed = norm.signature.is_some();
        let head_applies = signed || s.chars.iter().any(|&c| is_cjk_ideograph(c));
        self.conclude(
            s,
            signed,
            head_applies,
            compliant,
            code_rule,
            signed_without_contact,
        )
    }

    fn conclude(
        &self,
        s: &FeatureScratch,
        signed: bool,
        head_applies: bool,
        compliant_commercial: bool,
        code_rule: f32,
        signed_without_contact: bool,
    ) -> ModelOutput {
        let mut out = ModelOutput {
            monitored: self.settings.monitor,
            ..ModelOutput::default()
        };
        let mut logits = [0.0f32; 32];
        let (spam_head, spam, ham) = if signed {
            self.spam
        } else {
            self.unsigned_spam
        };
        let head = &self.model.heads[spam_head];
        if self.paired.is_some() && spam_head == self.spam.0 {
            head.logits_from_margins(&s.features, &s.margins, &mut logits);
        } else {
            head.logits(&s.features, &mut logits);
        }
        out.spam_probability = self.model.spam_probability(head, &logits);
        out.spam_score = out.spam_probability;
        let mut explain: Option<(usize, usize, usize)> = None;
        if let Some(h) = self.category_head {
            let head = &self.model.heads[h];
            let k = head.classes();
            head.logits(&s.features, &mut logits);
            softmax(&mut logits[..k]);
            for c in Category::ALL {
                if let Some(col) = self.category_columns[c.index()] {
                    out.category_probability[c.index()] = logits[col];
                }
            }
            out.spam_score = out.spam_probability
                * (1.0
                    - benign(
                        &out,
                        head_applies,
                        compliant_commercial,
                        code_rule,
                        signed_without_contact,
                    ));
            let severe = [
                (
                    Category::Illegal,
                    self.settings.illegal_threshold,
                    FLAG_ILLEGAL,
                ),
                (
                    Category::FraudSuspect,
                    self.settings.fraud_threshold,
                    FLAG_FRAUD,
                ),
            ];
            // A severe category needs the spam head to agree that the text is abusive at all:
            // the category head has only seen spam categories and port traffic, so on everyday
            // text far from both its argmax means little.
            let abusive = out.spam_probability >= 0.5;
            for (category, threshold, flag) in severe {
                if category == Category::FraudSuspect && signed_without_contact {
                    continue;
                }
                if let Some(col) = self.category_columns[category.index()]
                    && abusive
                    && logits[col] >= threshold
                {
                    out.flags |= flag;
                    // Against the most likely benign reading.
                    let other = (0..k)
                        .filter(|&i| i != col)
                        .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
                        .unwrap_or(0);
                    explain = Some((h, col, other));
                    break;
                }
            }
        }
        if out.spam_score >= self.settings.spam_threshold {
            out.flags |= FLAG_SPAM;
            if explain.is_none() {
                explain = Some((spam_head, spam, ham));
            }
        }
        if let Some((h, a, b)) = explain {
            out.evidence = self.top_ngrams(h, &s.chars, a, b);
        }
        out
    }

    /// The three distinct n-grams of the feature text with the largest weight towards class `a`
    /// over class `b` (the explanation of a flag; computed only when one is raised).
    fn top_ngrams(&self, h: usize, chars: &[char], a: usize, b: usize) -> [Ngram; 3] {
        let head = &self.model.heads[h];
        let paired = self.paired.as_ref().filter(|_| h == self.spam.0);
        let mut best: [(f32, Ngram); 3] = [(0.0, Ngram::default()); 3];
        let n_max = usize::from(self.model.spec.max_n);
        for n in (2..=n_max).rev() {
            for w in chars.windows(n) {
                let hash = features::ngram_hash(w);
                let weight = match paired {
                    Some(p) => head.margin_of_row(&[p.get(hash)[1] as i8], a, b),
                    None => head.margin_weight(hash, a, b),
                };
                let gram = Ngram::new(w);
                if weight <= best[2].0 || best.iter().any(|(_, g)| *g == gram) {
                    continue;
                }
                best[2] = (weight, gram);
                best.sort_by(|x, y| y.0.total_cmp(&x.0));
            }
        }
        [best[0].1, best[1].1, best[2].1]
    }
}

/// Moves the idf table and the weights of margin-column head `h` into one `PairedIdf` when both
/// have a byte per bucket of the same table (`PairedIdf` says why). The model is copied only when
/// someone else holds it too (`eval` does; serving's loader does not).
fn pair_idf_with(
    model: std::sync::Arc<ContentModel>,
    h: usize,
) -> (std::sync::Arc<ContentModel>, Option<PairedIdf>) {
    let Some(paired) = model.heads.get(h).and_then(|head| {
        let idf = model.idf.as_ref()?;
        let fits = head.margin_column.is_some() && head.bits == idf.bits;
        fits.then(|| PairedIdf::new(idf, &head.weights)).flatten()
    }) else {
        return (model, None);
    };
    let mut owned = std::sync::Arc::unwrap_or_clone(model);
    owned.idf = None;
    owned.heads[h].weights = Vec::new();
    (std::sync::Arc::new(owned), Some(paired))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companded_levels_are_odd_increasing_and_end_at_the_linear_maximum() {
        let lin = levels(0.5, None);
        let pow = levels(0.5, Some(2.0));
        assert_eq!(lin[1], 0.5);
        assert_eq!(pow[127], lin[127]);
        assert_eq!(pow[0], 0.0);
        for q in 1..=127i8 {
            let (i, n) = (usize::from(q as u8), usize::from((-q) as u8));
            assert_eq!(pow[n], -pow[i]);
            assert!(pow[i] > pow[i - 1], "{q}");
        }
        // Power 2: the smallest step is 127² times finer than the largest level.
        assert!((pow[1] - 0.5 / 127.0).abs() < 1e-6, "{}", pow[1]);
    }

    /// A well-formed file of `format` with an empty header: only the version is wrong.
    fn file_of_format(format: u32) -> Vec<u8> {
        let mut raw = Vec::new();
        raw.extend_from_slice(MAGIC);
        raw.extend_from_slice(&format.to_le_bytes());
        raw.extend_from_slice(&0u32.to_le_bytes());
        let digest = Sha256::digest(&raw);
        raw.extend_from_slice(&digest);
        let mut gz = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::fast());
        use std::io::Write;
        gz.write_all(&raw).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn paired_tables_conclude_exactly_what_the_loaded_tables_do() {
        use crate::pipeline::classify::{Classification, classify, rules::RuleSet};
        use crate::pipeline::normalize::Normalizer;
        use std::sync::Arc;
        let bytes = include_bytes!("../../../config/models/default.pcm");
        let model = Arc::new(ContentModel::from_bytes(bytes).unwrap());
        let rules = RuleSet::embedded();
        let settings = ModelSettings::default();
        let paired = ServingModel::new(Arc::clone(&model), settings, &rules);
        let loaded = ServingModel::build(Arc::clone(&model), settings, &rules, false);
        assert!(paired.paired.is_some() && loaded.paired.is_none());
        // The tables moved, not copied.
        assert_eq!(paired.weight_bytes(), model.weight_bytes());
        assert!(paired.model.idf.is_none() && model.idf.is_some());
        let fixture = include_str!("../../../tests/it/fixtures/port_sms.tsv");
        let texts = fixture
            .lines()
            .skip(1)
            .filter_map(|l| l.split('\t').nth(1))
            .chain([
                "恭喜您获得大奖，请加微信 abc12345 领取",
                "【工商银行】您的账户已冻结，请点击 icbc-jd.top 解冻",
                "Congratulations! You won a prize, call 07700900123 now",
            ]);
        let (mut flagged, mut n) = (0, 0);
        for text in texts {
            let mut norm = NormalizedText::default();
            Normalizer::default().normalize_into(text, &mut norm);
            let (mut a, mut b) = (Classification::default(), Classification::default());
            classify(&rules, Some(&paired), &norm, &mut a);
            classify(&rules, Some(&loaded), &norm, &mut b);
            assert_eq!(a.model, b.model, "{text}");
            assert_eq!(a.spam_score.to_bits(), b.spam_score.to_bits(), "{text}");
            flagged += usize::from(a.model.is_some_and(|m| m.flags != 0));
            n += 1;
        }
        // Explanations were compared too (a flag's evidence n-grams are part of the output).
        assert!(n > 100 && flagged > 5, "{n} messages, {flagged} flagged");
    }

    /// The default settings with the signed-message fraud gate on or off.
    fn with_gate(gate: bool) -> ModelSettings {
        ModelSettings {
            signed_fraud_needs_contact: gate,
            ..ModelSettings::default()
        }
    }

    /// The default settings with another code-rule discount.
    fn with_discount(discount: f32) -> ModelSettings {
        ModelSettings {
            code_rule_discount: discount,
            ..ModelSettings::default()
        }
    }

    /// What the shipped model, served beside the embedded rules with `settings`, concludes on `text`.
    fn serve_shipped(settings: ModelSettings, text: &str) -> ModelOutput {
        classify_shipped(settings, text).model.unwrap()
    }

    fn classify_shipped(
        settings: ModelSettings,
        text: &str,
    ) -> crate::pipeline::classify::Classification {
        use crate::pipeline::classify::{Classification, classify, rules::RuleSet};
        use crate::pipeline::normalize::Normalizer;
        use std::sync::{Arc, OnceLock};
        static SHIPPED: OnceLock<(Arc<ContentModel>, RuleSet)> = OnceLock::new();
        let (model, rules) = SHIPPED.get_or_init(|| {
            let bytes = include_bytes!("../../../config/models/default.pcm");
            (
                Arc::new(ContentModel::from_bytes(bytes).unwrap()),
                RuleSet::embedded(),
            )
        });
        let serving = ServingModel::new(Arc::clone(model), settings, rules);
        let mut n = NormalizedText::default();
        Normalizer::default().normalize_into(text, &mut n);
        let mut class = Classification::default();
        classify(rules, Some(&serving), &n, &mut class);
        class
    }

    #[test]
    fn a_signed_warning_that_quotes_scams_without_a_channel_is_not_fraud() {
        let classify = |gate: bool, text: &str| classify_shipped(with_gate(gate), text);
        let warning = "【中国银行】温馨提示：近期有不法分子冒充银行客服以“关闭百万保障”“注销校园贷”为由\
                       诱导转账，我行不会要求客户转账至任何“安全账户”。如有疑问请致电95566。";
        // Without the gate the rules' scam words make it fraud, or at least spam.
        let off = classify(false, warning);
        let flagged = |c: &crate::pipeline::classify::Classification| {
            c.category == Some(Category::FraudSuspect) || c.spam_score >= 0.8
        };
        assert!(flagged(&off), "{off:?}");
        // With it, the fraud rules' evidence and spam are taken back; their symbols stay.
        let on = classify(true, warning);
        assert!(!flagged(&on), "{on:?}");
        assert_eq!(on.symbols, off.symbols);
        // A channel of the scammer's own makes it fraud again: a mobile number, a link on any TLD,
        // a QQ number printed in groups, a WeChat id.
        for channel in [
            "致电13912345678",
            "登录 rb.gy/0qYbgQ",
            "加客服qq 3168 4427 80",
            "添加客服微信:boc-kf88",
        ] {
            let text = warning.replace("致电95566", channel);
            assert!(flagged(&classify(true, &text)), "{text}");
        }
    }

    #[test]
    fn a_fee_demanded_before_a_payout_is_the_channel_a_signed_scam_needs() {
        let flagged = |c: &crate::pipeline::classify::Classification| {
            c.category == Some(Category::FraudSuspect) || c.spam_score >= 0.8
        };
        // Signed, no link, number or account: only the fee says whom to pay.
        let scam = "【惠农服务】您的农机购置补贴6,400元已审核通过，需先缴纳个人所得税320元方可发放，\
                    工作人员将上门收取。";
        let c = classify_shipped(with_gate(true), scam);
        assert!(c.names_channel && flagged(&c), "{c:?}");
        // The same notice paying out without a fee is left alone.
        let notice = "【惠农服务】您的农机购置补贴6,400元已审核通过，将于本月发放至一卡通，无需缴纳任何费用。";
        let c = classify_shipped(with_gate(true), notice);
        assert!(!c.names_channel && !flagged(&c), "{c:?}");
    }

    #[test]
    fn the_category_heads_benign_belief_counts_only_for_chinese_or_signed_text() {
        let serve = |text: &str| serve_shipped(ModelSettings::default(), text);
        let english = "WINNER!! As a valued network customer you have been selected to receive a \
                       £900 prize reward! To claim call 09061701461. Claim code KL341. Valid 12 hours only.";
        let out = serve(english);
        // Unsigned and not Chinese: the spam score is the spam head's own, and it is flagged.
        assert!(out.spam_probability >= 0.8, "{out:?}");
        assert_eq!(out.spam_score, out.spam_probability, "{out:?}");
        assert!(out.flags & FLAG_SPAM != 0, "{out:?}");
        // The same text signed is port traffic: the head's belief counts again (it can only lower).
        let signed = serve(&format!("【Booking】{english}"));
        assert!(signed.spam_score < signed.spam_probability, "{signed:?}");
        // Chinese text unsigned keeps the discount: a bill notice the spam head half-suspects.
        let bill = serve(
            "您好，您本月话费账单已出，本期应缴58.00元，请于25日前缴清，可通过营业厅或APP缴费。",
        );
        assert!(
            bill.spam_score < bill.spam_probability || bill.spam_probability == 0.0,
            "{bill:?}"
        );
    }

    #[test]
    fn a_code_the_rules_recognise_discounts_the_models_spam_score() {
        let serve = |discount: f32, text: &str| serve_shipped(with_discount(discount), text);
        // The shipped model is sure enough of codes it was trained on that nothing is left to
        // discount; a code in a wording it never saw, with a spam head that disagrees:
        let code = "Use 482913 to log in to WINNER club, claim your free prize now";
        let (off, on) = (serve(0.0, code), serve(0.5, code));
        assert_eq!(on.spam_probability, off.spam_probability);
        assert!(off.spam_score > 0.0, "{off:?}");
        // Independent beliefs: (1 - head) × (1 - 0.5) of the spam probability is left.
        assert!(
            (on.spam_score - off.spam_score * 0.5).abs() < 1e-6,
            "{on:?} {off:?}"
        );
        // No code rule, no discount: a "valid for" warning alone is not a code.
        let warning = "Your prize is valid for 5 min, call now to claim";
        assert_eq!(
            serve(0.0, warning).spam_score,
            serve(0.5, warning).spam_score
        );
    }

    #[test]
    fn a_police_warning_the_rules_recognise_gets_the_same_discount_as_a_code() {
        let serve = |discount: f32, text: &str| serve_shipped(with_discount(discount), text);
        // ANTI_FRAUD_NOTICE (SERVICE, 4.0) knows a warning that lists scams for what it is.
        let warning = "【滨江区公安分局】“网购退款”“刷单返利”“冒充客服”都是诈骗高发类型，切勿私下转账，被骗请立即报警。";
        let (off, on) = (serve(0.0, warning), serve(0.5, warning));
        assert!(off.spam_score > 0.0, "{off:?}");
        assert!(
            (on.spam_score - off.spam_score * 0.5).abs() < 1e-6,
            "{on:?} {off:?}"
        );
        // The same list without the warning's words is no notice: no discount.
        let list = "【滨江区公安分局】“网购退款”“刷单返利”“冒充客服”，私下转账，立即办理。";
        assert_eq!(serve(0.0, list).spam_score, serve(0.5, list).spam_score);
    }

    #[test]
    fn a_signed_message_without_a_way_to_reach_anyone_is_not_called_fraud() {
        let serve = |gate: bool, text: &str| serve_shipped(with_gate(gate), text);
        let body = "您的账户存在异常已被冻结，请立即核实身份解除限制，逾期将影响您的征信";
        let signed = format!("【招商银行】{body}。详询95555");
        // Without the gate the model calls it fraud; with it, the signer's own 95xxx line is no
        // channel a fraudster can use, so neither the flag nor the spam score stands.
        let (off, on) = (serve(false, &signed), serve(true, &signed));
        assert!(off.flags & FLAG_FRAUD != 0, "{off:?}");
        assert!(on.flags & FLAG_FRAUD == 0, "{on:?}");
        assert!(on.spam_score < off.spam_score, "{on:?} {off:?}");
        // Any other way to reach someone keeps it fraud: a link, a mobile number, a WeChat id.
        for channel in ["点击 t.cn/A6bXz", "致电13912345678", "加微信 kf8899"] {
            let text = format!("【招商银行】{body}，{channel}");
            assert!(serve(true, &text).flags & FLAG_FRAUD != 0, "{text}");
        }
        // Unsigned messages are not port traffic's business: the gate leaves them alone.
        assert!(serve(true, body).flags & FLAG_FRAUD != 0);
    }

    #[test]
    fn models_of_older_formats_are_refused_with_the_reason() {
        for old in [1, 2] {
            let e = ContentModel::from_bytes(&file_of_format(old)).unwrap_err();
            assert!(
                e.contains(&format!("format version {old}")) && e.contains("retrain"),
                "{e}"
            );
        }
    }
}
