//! The subscriber state that policy reads: consents and opt-outs (RULES.md: no express consent counts
//! as refusal; a refusal after consent stops sending), plus the sender registry.
//!
//! Policy only sees the `SubscriberRegistry` trait. This issue ships `InMemoryRegistry`, which tests
//! fill directly; there is no write RPC yet, so nothing acknowledged can be lost by a restart. The
//! durable store behind the Registry service implements the same trait.

pub mod optout;
pub mod reply;
pub mod senders;

use std::sync::Arc;

use dashmap::DashMap;
use jiff::Timestamp;

use crate::domain::{Category, CategorySet, Msisdn, OptOutScope, stable_hash64};
use optout::OptOutIndex;

/// What policy asks of the registries, on the hot path: cheap, synchronous, lock-free or sharded.
pub trait SubscriberRegistry: Send + Sync + 'static {
    /// Has `msisdn` refused this enterprise's traffic of `scope`? A carrier-level refusal (no
    /// enterprise) covers every enterprise's commercial traffic.
    fn is_opted_out(&self, msisdn: Msisdn, enterprise: &str, scope: OptOutScope) -> bool;

    /// The consent in force at `now` that covers `category`, if any; its id goes into the Decision.
    fn consent_for(
        &self,
        msisdn: Msisdn,
        enterprise: &str,
        category: Category,
        now: Timestamp,
    ) -> Option<Arc<str>>;
}

/// One consent as the hot path needs it.
#[derive(Debug, Clone)]
pub struct Consent {
    pub consent_id: Arc<str>,
    pub scope: CategorySet,
    pub granted_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

impl Consent {
    pub fn in_force(&self, now: Timestamp) -> bool {
        self.granted_at <= now
            && self.expires_at.is_none_or(|e| now < e)
            && self.revoked_at.is_none_or(|r| now < r)
    }
}

/// Consent scope when a request names none (RULES.md).
pub const DEFAULT_CONSENT_SCOPE: [Category; 2] = [Category::Marketing, Category::LoanMarketing];

/// Key of per-(subscriber, enterprise) state; the enterprise is hashed so lookups borrow `&str`.
fn pair_key(msisdn: Msisdn, enterprise: &str) -> (u64, u64) {
    (msisdn.as_u64(), stable_hash64(enterprise.as_bytes()))
}

/// Registries held in sharded maps; filled by tests (and, later, rebuilt from the durable store).
#[derive(Debug, Default)]
pub struct InMemoryRegistry {
    opt_outs: OptOutIndex,
    consents: DashMap<(u64, u64), Vec<Consent>>,
}

impl InMemoryRegistry {
    pub fn new() -> InMemoryRegistry {
        InMemoryRegistry::default()
    }

    /// `enterprise` None = every enterprise (a carrier-level refusal).
    pub fn opt_out(&self, msisdn: Msisdn, enterprise: Option<&str>, scope: OptOutScope) {
        self.opt_outs.insert(msisdn, enterprise, scope);
    }

    pub fn opt_in(&self, msisdn: Msisdn, enterprise: Option<&str>, scope: OptOutScope) {
        self.opt_outs.remove(msisdn, enterprise, scope);
    }

    pub fn record_consent(&self, msisdn: Msisdn, enterprise: &str, consent: Consent) {
        self.consents
            .entry(pair_key(msisdn, enterprise))
            .or_default()
            .push(consent);
    }

    /// Revokes one consent by id (idempotent: an earlier revocation time is kept).
    pub fn revoke_consent_id(
        &self,
        msisdn: Msisdn,
        enterprise: &str,
        consent_id: &str,
        at: Timestamp,
    ) {
        if let Some(mut list) = self.consents.get_mut(&pair_key(msisdn, enterprise)) {
            for c in list.iter_mut().filter(|c| &*c.consent_id == consent_id) {
                c.revoked_at = Some(c.revoked_at.map_or(at, |r| r.min(at)));
            }
        }
    }

    /// Entries in the indexes (consent pairs, opt-outs, interned enterprises), for metrics.
    pub fn sizes(&self) -> (usize, usize, usize) {
        let (opt_outs, enterprises) = self.opt_outs.sizes();
        (self.consents.len(), opt_outs, enterprises)
    }

    /// Revokes every consent in force for the pair; returns how many were revoked.
    pub fn revoke_consent(&self, msisdn: Msisdn, enterprise: &str, at: Timestamp) -> usize {
        let mut revoked = 0;
        if let Some(mut list) = self.consents.get_mut(&pair_key(msisdn, enterprise)) {
            for c in list.iter_mut().filter(|c| c.in_force(at)) {
                c.revoked_at = Some(at);
                revoked += 1;
            }
        }
        revoked
    }
}

impl SubscriberRegistry for InMemoryRegistry {
    fn is_opted_out(&self, msisdn: Msisdn, enterprise: &str, scope: OptOutScope) -> bool {
        self.opt_outs.contains(msisdn, enterprise, scope)
    }

    fn consent_for(
        &self,
        msisdn: Msisdn,
        enterprise: &str,
        category: Category,
        now: Timestamp,
    ) -> Option<Arc<str>> {
        let list = self.consents.get(&pair_key(msisdn, enterprise))?;
        list.iter()
            .rev()
            .find(|c| c.scope.contains(category) && c.in_force(now))
            .map(|c| Arc::clone(&c.consent_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn consent(id: &str, scope: &[Category], granted: &str) -> Consent {
        Consent {
            consent_id: Arc::from(id),
            scope: CategorySet::of(scope),
            granted_at: granted.parse().unwrap(),
            expires_at: None,
            revoked_at: None,
        }
    }

    #[test]
    fn marketing_only_consent_does_not_cover_loans() {
        let reg = InMemoryRegistry::new();
        let m = Msisdn::parse("13800138000").unwrap();
        reg.record_consent(
            m,
            "ent-a",
            consent("c1", &[Category::Marketing], "2026-01-01T00:00:00Z"),
        );
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        assert_eq!(
            reg.consent_for(m, "ent-a", Category::Marketing, now)
                .as_deref(),
            Some("c1")
        );
        assert_eq!(
            reg.consent_for(m, "ent-a", Category::LoanMarketing, now),
            None
        );
        assert_eq!(reg.consent_for(m, "ent-b", Category::Marketing, now), None);
        assert_eq!(reg.revoke_consent(m, "ent-a", now), 1);
        assert_eq!(reg.consent_for(m, "ent-a", Category::Marketing, now), None);
    }

    #[test]
    fn carrier_level_opt_out_covers_commercial_not_collection() {
        let reg = InMemoryRegistry::new();
        let m = Msisdn::parse("13800138000").unwrap();
        reg.opt_out(m, None, OptOutScope::Commercial);
        assert!(reg.is_opted_out(m, "any", OptOutScope::Commercial));
        assert!(!reg.is_opted_out(m, "any", OptOutScope::Collection));
        reg.opt_in(m, None, OptOutScope::Commercial);
        assert!(!reg.is_opted_out(m, "any", OptOutScope::Commercial));
        reg.opt_out(m, Some("ent-c"), OptOutScope::Collection);
        assert!(reg.is_opted_out(m, "ent-c", OptOutScope::Collection));
        assert!(!reg.is_opted_out(m, "ent-c", OptOutScope::Commercial));
    }
}
