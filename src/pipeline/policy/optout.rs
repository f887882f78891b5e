//! Opt-outs: a refusal stops commercial traffic from that enterprise (or, carrier-level, from every
//! enterprise); a collection opt-out stops that enterprise's collection traffic. Verification and
//! service messages can never be opted out (a known abuse: complainants cut off from all SMS).

use crate::domain::{Category, Msisdn, OptOutScope};
use crate::pipeline::policy::PolicyConfig;
use crate::pipeline::verdict::Finding;
use crate::proto::ReasonCode;
use crate::registry::SubscriberRegistry;

pub fn scope_for(category: Category, cfg: &PolicyConfig) -> Option<OptOutScope> {
    if cfg.commercial.contains(category) {
        Some(OptOutScope::Commercial)
    } else if category == Category::Collection {
        Some(OptOutScope::Collection)
    } else {
        None
    }
}

pub fn check_opt_out(
    registry: &dyn SubscriberRegistry,
    msisdn: Msisdn,
    enterprise: &str,
    category: Category,
    cfg: &PolicyConfig,
) -> Option<Finding> {
    let scope = scope_for(category, cfg)?;
    registry.is_opted_out(msisdn, enterprise, scope).then(|| {
        let what = match scope {
            OptOutScope::Commercial => "commercial",
            OptOutScope::Collection => "collection",
        };
        Finding::refuse(
            ReasonCode::ReasonOptedOut,
            format!("subscriber opted out of {what} messages from {enterprise}"),
        )
    })
}
