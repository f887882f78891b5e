//! Content classification: named rules (symbols with weights) from `config/rules.toml`, then the
//! trained content model (`model`), and the campaign fingerprint (`fingerprint`). The symbols that fire are the explanation a Decision carries.

pub mod features;
pub mod fingerprint;
pub mod model;
pub mod rules;

use crate::domain::Category;

/// Index of a symbol in the rule set's symbol table (`RuleSet::symbol_name`), so the hot path pushes a
/// `u16`, not a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SymbolId(pub u16);

/// What classification concluded about one message; reused across messages.
#[derive(Debug, Default, Clone)]
pub struct Classification {
    /// The winning category (SERVICE when nothing points elsewhere).
    pub category: Option<Category>,
    /// Evidence per category, indexed by `Category::index()`.
    pub category_scores: [f32; 7],
    /// 0..1, how likely this is unsolicited/abusive content: `1 / (1 + exp(-spam_logit))`.
    pub spam_score: f64,
    /// The log-odds behind `spam_score` (the rules file's `spam_bias` plus the `spam` of every
    /// counting rule that fired), so another scorer (the content model) can add its own evidence.
    pub spam_logit: f64,
    /// Symbols that fired and counted, in rule-file order (the fraud rules' also when `classify`
    /// took their count back: a signed message without a channel only quotes them).
    pub symbols: Vec<SymbolId>,
    /// Symbols of rules in monitor mode that fired: reported, never counted.
    pub monitored_symbols: Vec<SymbolId>,
    /// What the content model concluded, when one is loaded (its flags and evidence are symbols).
    pub model: Option<model::ModelOutput>,
    /// A counting rule that names a way to pay someone fired (`channel = true` in the rules file):
    /// the signed-message fraud gate does not apply.
    pub names_channel: bool,
    /// The text belongs to a campaign past its complaint limit (symbol FUZZY_COMPLAINED).
    pub complained_campaign: bool,
    /// The campaign fingerprint (SimHash) of the text, from the feature text the model scored.
    pub fingerprint: u128,
}

impl Classification {
    /// A complained campaign: adds `spam` to the spam logit.
    pub fn mark_complained_campaign(&mut self, spam: f64) {
        self.complained_campaign = true;
        self.spam_logit += spam;
        self.spam_score = 1.0 / (1.0 + (-self.spam_logit).exp());
    }

    /// Folds the model's conclusion into the rules' (unless the model is in shadow mode):
    /// the spam score is the more confident of the two (a message is as spammy as either scorer
    /// can show), the model's category probabilities add evidence, and a FRAUD_SUSPECT or ILLEGAL
    /// probability over its threshold decides the category on its own.
    pub fn apply_model(
        &mut self,
        out: &model::ModelOutput,
        model: &model::ServingModel,
        rules: &rules::RuleSet,
    ) {
        self.model = Some(*out);
        if out.monitored {
            return;
        }
        let p = f64::from(out.spam_score).clamp(1e-6, 1.0 - 1e-6);
        let logit = (p / (1.0 - p)).ln();
        if logit > self.spam_logit {
            self.spam_logit = logit;
            self.spam_score = p;
        }
        let weight = model.settings.category_weight;
        for c in Category::ALL {
            let severe = matches!(c, Category::FraudSuspect | Category::Illegal);
            if !severe {
                self.category_scores[c.index()] += weight * out.category_probability[c.index()];
            }
        }
        if out.flags & model::FLAG_FRAUD != 0 {
            self.category_scores[Category::FraudSuspect.index()] += DECISIVE;
        }
        if out.flags & model::FLAG_ILLEGAL != 0 {
            self.category_scores[Category::Illegal.index()] += DECISIVE;
        }
        self.category = Some(rules.decide_category(&self.category_scores));
    }
}

/// Evidence no combination of rules reaches: the model's severe flag decides the category.
const DECISIVE: f32 = 100.0;

/// Rules, then the model when there is one: the whole of classification for one message.
pub fn classify(
    rules: &rules::RuleSet,
    model: Option<&model::ServingModel>,
    norm: &crate::pipeline::normalize::NormalizedText,
    out: &mut Classification,
) {
    rules.classify(norm, out);
    // The model's gate (`ModelSettings::signed_fraud_needs_contact`) holds for the rules' fraud
    // evidence too: a signed message with no channel but the signer's own cannot defraud anyone,
    // however many scam words it quotes (police and bank anti-fraud warnings quote them all).
    let fraud_needs_channel = model.is_some_and(|m| m.fraud_needs_channel(norm, out));
    if fraud_needs_channel && out.category_scores[Category::FraudSuspect.index()] > 0.0 {
        rules.discount(Category::FraudSuspect, out);
    }
    out.model = None;
    out.complained_campaign = false;
    // One feature text per message, for the model and the fingerprint alike.
    let (scored, fingerprint) = features::with_scratch(|s| {
        features::feature_text(norm, &mut s.chars);
        let scored = model.map(|m| m.score_text(s, norm, out, fraud_needs_channel));
        (scored, fingerprint::simhash_chars(&s.chars))
    });
    out.fingerprint = fingerprint;
    if let (Some(model), Some(scored)) = (model, scored) {
        out.apply_model(&scored, model, rules);
    }
}
