//! Content checks on what classify concluded: illegal services and fraud are refused outright; a
//! spam score over the configured threshold is SPAM_CONTENT; a commercial message must name its
//! sender in 【】 and offer an opt-out (MIIT 2015 rules, RULES.md).

use crate::domain::Category;
use crate::pipeline::classify::Classification;
use crate::pipeline::normalize::NormalizedText;
use crate::pipeline::policy::PolicyConfig;
use crate::pipeline::verdict::Finding;
use crate::proto::ReasonCode;

pub fn check_category_verdict(category: Category) -> Option<Finding> {
    match category {
        Category::Illegal => Some(Finding::refuse(
            ReasonCode::ReasonIllegalContent,
            "content classified ILLEGAL (gambling, escort, fake invoices or IDs)",
        )),
        Category::FraudSuspect => Some(Finding::refuse(
            ReasonCode::ReasonFraudSuspect,
            "content classified FRAUD_SUSPECT",
        )),
        _ => None,
    }
}

pub fn check_spam_score(class: &Classification, cfg: &PolicyConfig) -> Option<Finding> {
    (class.spam_score >= cfg.spam_reject_score).then(|| {
        Finding::refuse(
            ReasonCode::ReasonSpamContent,
            format!(
                "spam_score {:.3} >= {:.3}",
                class.spam_score, cfg.spam_reject_score
            ),
        )
    })
}

pub fn check_commercial_identity(
    category: Category,
    norm: &NormalizedText,
    cfg: &PolicyConfig,
    out: &mut Vec<Finding>,
) {
    if !cfg.commercial.contains(category) {
        return;
    }
    if norm.signature.is_none() {
        out.push(Finding::refuse(
            ReasonCode::ReasonMissingSignature,
            "commercial message without a 【signature】 at its start or end",
        ));
    }
    if !norm.optout_notice {
        out.push(Finding::refuse(
            ReasonCode::ReasonMissingOptoutNotice,
            "commercial message without an opt-out notice (e.g. 回T退订)",
        ));
    }
}
