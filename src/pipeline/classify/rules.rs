//! TEMPORARY minimal implementation until the real module lands.
use std::path::Path;

use super::{Classification, SymbolId};
use crate::domain::Category;
use crate::pipeline::normalize::NormalizedText;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub path: String,
    pub message: String,
}

pub struct RuleSet {}

impl RuleSet {
    pub fn load(_path: &Path) -> Result<RuleSet, Vec<RuleError>> {
        Ok(RuleSet {})
    }
    pub fn embedded() -> RuleSet {
        RuleSet {}
    }
    pub fn classify(&self, norm: &NormalizedText, out: &mut Classification) {
        out.symbols.clear();
        out.monitored_symbols.clear();
        out.spam_score = 0.0;
        out.category = Some(if norm.text.contains("验证码") {
            Category::Verification
        } else if norm.text.contains("优惠") {
            Category::Marketing
        } else {
            Category::Service
        });
    }
    pub fn rule_count(&self) -> usize {
        0
    }
    pub fn symbol_name(&self, _id: SymbolId) -> &str {
        "X"
    }
}
