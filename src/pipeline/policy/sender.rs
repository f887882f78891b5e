//! Sender checks: the port is registered (SENDER_UNKNOWN), the 【signature】 is one of the sender's
//! (SIGNATURE_MISMATCH) and the port is registered for the message's category (CATEGORY_NOT_ALLOWED;
//! RULES.md: ports for service messages may not carry commercial content).

use crate::domain::Category;
use crate::pipeline::normalize::NormalizedText;
use crate::pipeline::verdict::Finding;
use crate::proto::ReasonCode;
use crate::registry::senders::Sender;

pub fn check_registered(sender: Option<&Sender>, port: &str) -> Option<Finding> {
    sender.is_none().then(|| {
        Finding::refuse(
            ReasonCode::ReasonSenderUnknown,
            format!("sender_port {port} is not in the sender registry"),
        )
    })
}

pub fn check_signature(sender: &Sender, norm: &NormalizedText) -> Option<Finding> {
    let signature = norm.signature.as_deref()?;
    (!sender.signature_matches(signature)).then(|| {
        Finding::refuse(
            ReasonCode::ReasonSignatureMismatch,
            format!(
                "signature 【{signature}】 is not registered for enterprise {}",
                sender.enterprise
            ),
        )
    })
}

/// FRAUD_SUSPECT and ILLEGAL have reasons of their own; no port is registered for them.
pub fn check_category_allowed(sender: &Sender, category: Category) -> Option<Finding> {
    if matches!(category, Category::FraudSuspect | Category::Illegal)
        || sender.categories.contains(category)
    {
        return None;
    }
    Some(Finding::refuse(
        ReasonCode::ReasonCategoryNotAllowed,
        format!(
            "port {} is not registered for {}",
            sender.port,
            category.as_str()
        ),
    ))
}
