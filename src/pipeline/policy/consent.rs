//! Consent: a commercial message needs the subscriber's express consent for this enterprise and
//! category; "用户未明确同意的，视为拒绝" — no consent record is a refusal, never "unknown, release".

use std::sync::Arc;

use jiff::Timestamp;

use crate::domain::{Category, Msisdn};
use crate::pipeline::policy::PolicyConfig;
use crate::pipeline::verdict::Finding;
use crate::proto::ReasonCode;
use crate::registry::SubscriberRegistry;

/// Either the consent relied on, or NO_CONSENT. Categories that need no consent give neither.
pub fn check_consent(
    registry: &dyn SubscriberRegistry,
    msisdn: Msisdn,
    enterprise: &str,
    category: Category,
    now: Timestamp,
    cfg: &PolicyConfig,
) -> Result<Option<Arc<str>>, Finding> {
    if !cfg.consent_required.contains(category) {
        return Ok(None);
    }
    match registry.consent_for(msisdn, enterprise, category, now) {
        Some(id) => Ok(Some(id)),
        None => Err(Finding::refuse(
            ReasonCode::ReasonNoConsent,
            format!(
                "no consent in force from the subscriber to {enterprise} for {}",
                category.as_str()
            ),
        )),
    }
}
