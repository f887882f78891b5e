//! Content classification: named rules (symbols with weights) from `config/rules.toml`, and the seam
//! where a trained model plugs in. The symbols that fire are the explanation a Decision carries.

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
    /// Symbols that fired and counted, in rule-file order.
    pub symbols: Vec<SymbolId>,
    /// Symbols of rules in monitor mode that fired: reported, never counted.
    pub monitored_symbols: Vec<SymbolId>,
}
