//! `portcullis eval`: scores a model on a labeled file in that file's own label space (API.md):
//! predictions are restricted to the labels occurring in the file, so the fake-base-station file is
//! scored on its categories and the spam/ham files on spam/ham. Beside the API.md numbers the
//! report says, per true label, how often serving would *flag* the row (spam score at
//! `policy.spam_reject_score`, or FRAUD_SUSPECT / ILLEGAL): the false-positive rate that matters
//! for legitimate port traffic.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::Featurizer;
use super::data::Row;
use super::labels;
use crate::domain::Category;
use crate::pipeline::classify::model::{
    ContentModel, ModelSettings, SPAM_HEAD, ServingModel, softmax,
};
use crate::pipeline::classify::rules::RuleSet;
use crate::pipeline::classify::{self, Classification};

#[derive(Debug, Clone, Serialize)]
pub struct ClassReport {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EvalReport {
    pub classes: BTreeMap<String, ClassReport>,
    pub accuracy: f64,
    pub macro_f1: f64,
    /// Per true label: the share of rows serving would flag (spam, fraud or illegal).
    pub flagged: BTreeMap<String, f64>,
    /// The same with the rules alone (no model): what the model adds is `flagged` minus this.
    pub flagged_by_rules: BTreeMap<String, f64>,
    /// Per true label: the share of rows the model flags on its own (MODEL_SPAM, MODEL_FRAUD_SUSPECT
    /// or MODEL_ILLEGAL: its discounted spam score at the threshold, or a severe category).
    pub flagged_by_model: BTreeMap<String, f64>,
    /// Labels in the order of `confusion`'s rows (true) and columns (predicted).
    pub labels: Vec<String>,
    pub confusion: Vec<Vec<u64>>,
    pub model: String,
    pub rows: usize,
    /// Rows whose predicted label or serving flag disagrees with the truth, in file order.
    #[serde(skip)]
    pub misses: Vec<Miss>,
}

/// A row the model got wrong, with what serving made of it (for `eval --errors`).
#[derive(Debug, Clone)]
pub struct Miss {
    pub line: usize,
    pub label: String,
    pub predicted: String,
    pub flagged: bool,
    pub category: Option<Category>,
    pub spam_score: f32,
    pub symbols: String,
    pub text: String,
    /// The spam head's own P(spam), before serving discounts it for port-governed kinds (`-`
    /// without a model).
    pub spam_head: Option<f32>,
}

/// Scores `model` on `rows`; an error names the first line whose label the model never learnt.
pub fn evaluate(
    model: &Arc<ContentModel>,
    rows: &[Row],
    file: &str,
    spam_reject_score: f64,
    spam_threshold: Option<f32>,
) -> Result<EvalReport, String> {
    // Spam iff P(spam) >= t: log-odds compared against ln(t / (1 - t)).
    let t = spam_threshold
        .or(model.header.spam_threshold)
        .unwrap_or(0.5)
        .clamp(1e-6, 1.0 - 1e-6);
    let (spam_shift, ham_shift) = (t.ln(), (1.0 - t).ln());
    let learnt = learnt_labels(model);
    let mut file_labels: Vec<String> = Vec::new();
    for row in rows {
        let head = labels::head_of(&row.label);
        let known = head.is_some_and(|h| learnt.get(h).is_some_and(|ls| ls.contains(&row.label)));
        if !known {
            return Err(format!(
                "{file}:{}: label {:?} was never learnt by model {}",
                row.line,
                row.label,
                model.version()
            ));
        }
        if !file_labels.contains(&row.label) {
            file_labels.push(row.label.clone());
        }
    }
    file_labels.sort();
    // (head index, column) of each file label.
    let columns: Vec<(usize, usize)> = file_labels
        .iter()
        .filter_map(|l| {
            let head = labels::head_of(l)?;
            let h = model.heads.iter().position(|x| x.name == head)?;
            Some((h, model.heads[h].label_index(l)?))
        })
        .collect();

    let rules = RuleSet::embedded();
    let settings = ModelSettings {
        spam_threshold: spam_reject_score as f32,
        ..ModelSettings::default()
    };
    let serving = ServingModel::new(Arc::clone(model), settings, &rules);
    let mut featurizer = Featurizer::new(model.spec, model.idf.clone(), RuleSet::embedded());
    let mut class = Classification::default();

    let k = file_labels.len();
    let mut confusion = vec![vec![0u64; k]; k];
    let mut flagged_counts = vec![0u64; k];
    let mut rules_counts = vec![0u64; k];
    let mut model_counts = vec![0u64; k];
    let mut rules_only = Classification::default();
    let mut misses = Vec::new();
    let mut logits = vec![[0.0f32; 32]; model.heads.len()];
    let (signed_spam, unsigned_spam) = (model.spam_head_for(true), model.spam_head_for(false));
    for row in rows {
        let features = featurizer.features(&row.text);
        for (h, head) in model.heads.iter().enumerate() {
            head.logits(features, &mut logits[h]);
        }
        // The spam/ham labels live in the `spam` head; serving scores an unsigned message with
        // `spam_unsigned` when the model has one, and so does eval.
        let signed = featurizer.last().0.signature.is_some();
        let log_prob = |h: usize, c: usize, logits: &[[f32; 32]]| -> f32 {
            if model.heads[h].name == SPAM_HEAD {
                let h = if signed { signed_spam } else { unsigned_spam };
                let head = &model.heads[h];
                let (s, _) = head.spam_ham();
                let p = model
                    .spam_probability(head, &logits[h])
                    .clamp(1e-7, 1.0 - 1e-7);
                return if c == s {
                    p.ln() - spam_shift
                } else {
                    (1.0 - p).ln() - ham_shift
                };
            }
            let mut p = logits[h];
            softmax(&mut p[..model.heads[h].classes()]);
            p[c].max(1e-30).ln()
        };
        let predicted = columns
            .iter()
            .enumerate()
            .map(|(i, &(h, c))| (i, log_prob(h, c, &logits)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(0, |(i, _)| i);
        let truth = file_labels
            .iter()
            .position(|l| *l == row.label)
            .unwrap_or(0);
        confusion[truth][predicted] += 1;

        // Serving's view of the same row, from the text the featurizer already normalized.
        let (norm, _) = featurizer.last();
        classify::classify(&rules, Some(&serving), norm, &mut class);
        let severe = matches!(
            class.category,
            Some(Category::FraudSuspect | Category::Illegal)
        );
        let flag = severe || class.spam_score >= spam_reject_score;
        if flag {
            flagged_counts[truth] += 1;
        }
        if class.model.is_some_and(|m| m.flags != 0) {
            model_counts[truth] += 1;
        }
        classify::classify(&rules, None, norm, &mut rules_only);
        let rules_flag = matches!(
            rules_only.category,
            Some(Category::FraudSuspect | Category::Illegal)
        ) || rules_only.spam_score >= spam_reject_score;
        if rules_flag {
            rules_counts[truth] += 1;
        }
        let should_flag = labels::targets(&row.label).and_then(|t| t.spam);
        if predicted != truth || should_flag.is_some_and(|s| s != flag) {
            misses.push(Miss {
                line: row.line,
                label: row.label.clone(),
                predicted: file_labels[predicted].clone(),
                flagged: flag,
                category: class.category,
                spam_score: class.spam_score as f32,
                symbols: class
                    .symbols
                    .iter()
                    .map(|id| rules.symbol_name(*id).to_owned())
                    .chain(class.model.iter().flat_map(|m| m.symbols()))
                    .collect::<Vec<_>>()
                    .join(","),
                text: row.text.clone(),
                spam_head: class.model.map(|m| m.spam_probability),
            });
        }
    }

    let mut classes = BTreeMap::new();
    let mut flagged = BTreeMap::new();
    let mut flagged_by_rules = BTreeMap::new();
    let mut flagged_by_model = BTreeMap::new();
    let mut f1_sum = 0.0;
    let correct: u64 = (0..k).map(|i| confusion[i][i]).sum();
    for (i, label) in file_labels.iter().enumerate() {
        let tp = confusion[i][i] as f64;
        let support: u64 = confusion[i].iter().sum();
        let predicted: u64 = confusion.iter().map(|r| r[i]).sum();
        let precision = if predicted > 0 {
            tp / predicted as f64
        } else {
            0.0
        };
        let recall = if support > 0 {
            tp / support as f64
        } else {
            0.0
        };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        f1_sum += f1;
        classes.insert(
            label.clone(),
            ClassReport {
                precision,
                recall,
                f1,
                support,
            },
        );
        let share = |n: u64| {
            if support > 0 {
                n as f64 / support as f64
            } else {
                0.0
            }
        };
        flagged.insert(label.clone(), share(flagged_counts[i]));
        flagged_by_rules.insert(label.clone(), share(rules_counts[i]));
        flagged_by_model.insert(label.clone(), share(model_counts[i]));
    }
    Ok(EvalReport {
        classes,
        accuracy: if rows.is_empty() {
            0.0
        } else {
            correct as f64 / rows.len() as f64
        },
        macro_f1: if k > 0 { f1_sum / k as f64 } else { 0.0 },
        flagged,
        flagged_by_rules,
        flagged_by_model,
        labels: file_labels,
        confusion,
        model: model.version().to_owned(),
        rows: rows.len(),
        misses,
    })
}

/// Labels with training rows, per head (from the model's provenance; every head label when the
/// model does not say).
fn learnt_labels(model: &ContentModel) -> BTreeMap<String, Vec<String>> {
    let from_provenance = model
        .header
        .provenance
        .get("learnt")
        .and_then(|v| serde_json::from_value::<BTreeMap<String, Vec<String>>>(v.clone()).ok());
    from_provenance.unwrap_or_else(|| {
        model
            .heads
            .iter()
            .map(|h| (h.name.clone(), h.labels.clone()))
            .collect()
    })
}

impl EvalReport {
    /// The misses as TSV (`eval --errors`): line, label, predicted, flagged, category, spam
    /// score, symbols, text, and the spam head's own probability (last, so earlier columns keep
    /// their places).
    pub fn misses_tsv(&self) -> String {
        use std::fmt::Write;
        let mut s = String::from(
            "line\tlabel\tpredicted\tflagged\tcategory\tspam_score\tsymbols\ttext\tspam_head\n",
        );
        for m in &self.misses {
            let _ = writeln!(
                s,
                "{}\t{}\t{}\t{}\t{}\t{:.3}\t{}\t{}\t{}",
                m.line,
                m.label,
                m.predicted,
                m.flagged,
                m.category.map_or("-", |c| c.as_str()),
                m.spam_score,
                m.symbols,
                m.text,
                m.spam_head.map_or("-".to_owned(), |p| format!("{p:.3}"))
            );
        }
        s
    }

    /// The human-readable report: per class, then the confusion matrix.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let width = self
            .labels
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(5)
            .max(5);
        let _ = writeln!(s, "model {}  rows {}", self.model, self.rows);
        let _ = writeln!(
            s,
            "{:<width$}  precision  recall      f1  support  flagged  (rules  model)",
            "label"
        );
        for (label, c) in &self.classes {
            let _ = writeln!(
                s,
                "{label:<width$}  {:>9.4}  {:>6.4}  {:>6.4}  {:>7}  {:>7.4}   {:>6.4} {:>6.4}",
                c.precision,
                c.recall,
                c.f1,
                c.support,
                self.flagged.get(label).copied().unwrap_or(0.0),
                self.flagged_by_rules.get(label).copied().unwrap_or(0.0),
                self.flagged_by_model.get(label).copied().unwrap_or(0.0)
            );
        }
        let _ = writeln!(
            s,
            "accuracy {:.4}  macro_f1 {:.4}",
            self.accuracy, self.macro_f1
        );
        let _ = writeln!(s, "\nconfusion (rows: true, columns: predicted)");
        let _ = write!(s, "{:<width$}", "");
        for i in 0..self.labels.len() {
            let _ = write!(s, " {:>6}", format!("[{i}]"));
        }
        let _ = writeln!(s);
        for (i, row) in self.confusion.iter().enumerate() {
            let _ = write!(s, "{:<width$}", format!("[{i}] {}", self.labels[i]));
            for n in row {
                let _ = write!(s, " {n:>6}");
            }
            let _ = writeln!(s);
        }
        s
    }

    /// API.md's JSON shape, plus `flagged`, `flagged_by_rules` and `flagged_by_model`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "classes": self.classes,
            "accuracy": self.accuracy,
            "macro_f1": self.macro_f1,
            "flagged": self.flagged,
            "flagged_by_rules": self.flagged_by_rules,
            "flagged_by_model": self.flagged_by_model,
        })
    }
}
