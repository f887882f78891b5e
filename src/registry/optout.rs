//! The opt-out index the hot path reads on every commercial or collection message. A refusal is
//! one 64-bit key — the subscriber number, the enterprise as a small interned id, the scope — in a
//! sharded hash set, so ten million opt-outs cost tens of bytes each, not a map of strings, and a
//! lookup takes no lock beyond one shard's read guard.

use std::sync::atomic::{AtomicU32, Ordering};

use dashmap::{DashMap, DashSet};

use crate::domain::{Msisdn, OptOutScope};

/// Enterprise id 0 stands for "every enterprise" (a carrier-level refusal).
const CARRIER_LEVEL: u32 = 0;
/// Mobile numbers start at 13000000000; what is left fits 33 bits.
const MSISDN_BASE: u64 = 13_000_000_000;
const ENTERPRISE_BITS: u32 = 29;
const MAX_ENTERPRISES: u32 = (1 << ENTERPRISE_BITS) - 1;

type Hasher = ahash::RandomState;

#[derive(Debug, Default)]
pub struct OptOutIndex {
    /// Enterprise id strings -> interned ids, from 1.
    enterprises: DashMap<Box<str>, u32, Hasher>,
    next_enterprise: AtomicU32,
    keys: DashSet<u64, Hasher>,
}

fn scope_bits(scope: OptOutScope) -> u64 {
    match scope {
        OptOutScope::Commercial => 1,
        OptOutScope::Collection => 2,
    }
}

fn key(msisdn: Msisdn, enterprise: u32, scope: OptOutScope) -> u64 {
    let number = msisdn.as_u64().saturating_sub(MSISDN_BASE);
    debug_assert!(number < 1 << 33, "Msisdn::parse admits only 1[3-9] numbers");
    number << (ENTERPRISE_BITS + 2) | u64::from(enterprise) << 2 | scope_bits(scope)
}

impl OptOutIndex {
    /// The interned id of an enterprise, creating it on first use (writes only).
    fn intern(&self, enterprise: &str) -> u32 {
        if let Some(id) = self.enterprises.get(enterprise) {
            return *id;
        }
        *self
            .enterprises
            .entry(enterprise.into())
            .or_insert_with(|| {
                let id = self.next_enterprise.fetch_add(1, Ordering::Relaxed) + 1;
                // Past 2^29 enterprises ids would collide; far beyond any carrier's sender count.
                id.min(MAX_ENTERPRISES)
            })
    }

    /// `enterprise` None = every enterprise.
    pub fn insert(&self, msisdn: Msisdn, enterprise: Option<&str>, scope: OptOutScope) {
        let id = enterprise.map_or(CARRIER_LEVEL, |e| self.intern(e));
        self.keys.insert(key(msisdn, id, scope));
    }

    pub fn remove(&self, msisdn: Msisdn, enterprise: Option<&str>, scope: OptOutScope) {
        let id = match enterprise {
            None => CARRIER_LEVEL,
            Some(e) => match self.enterprises.get(e) {
                Some(id) => *id,
                None => return,
            },
        };
        self.keys.remove(&key(msisdn, id, scope));
    }

    /// A carrier-level refusal covers every enterprise's commercial traffic (not collection).
    pub fn contains(&self, msisdn: Msisdn, enterprise: &str, scope: OptOutScope) -> bool {
        if scope == OptOutScope::Commercial
            && self.keys.contains(&key(msisdn, CARRIER_LEVEL, scope))
        {
            return true;
        }
        self.enterprises
            .get(enterprise)
            .is_some_and(|id| self.keys.contains(&key(msisdn, *id, scope)))
    }

    /// (refusals, interned enterprises)
    pub fn sizes(&self) -> (usize, usize) {
        (self.keys.len(), self.enterprises.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keys_keep_number_enterprise_and_scope_apart() {
        let a = Msisdn::parse("13000000000").unwrap();
        let b = Msisdn::parse("19999999999").unwrap();
        let mut seen = std::collections::HashSet::new();
        for m in [a, b] {
            for e in [0, 1, MAX_ENTERPRISES] {
                for s in [OptOutScope::Commercial, OptOutScope::Collection] {
                    assert!(seen.insert(key(m, e, s)));
                }
            }
        }
    }

    proptest! {
        #[test]
        fn insert_then_contains_then_remove(n in 0u64..7_000_000_000, ent in "[a-z]{1,8}", collection in any::<bool>()) {
            let m = Msisdn::from_u64(MSISDN_BASE + n).unwrap();
            let scope = if collection { OptOutScope::Collection } else { OptOutScope::Commercial };
            let index = OptOutIndex::default();
            prop_assert!(!index.contains(m, &ent, scope));
            index.insert(m, Some(&ent), scope);
            prop_assert!(index.contains(m, &ent, scope));
            prop_assert!(!index.contains(m, "other-enterprise", scope));
            index.remove(m, Some(&ent), scope);
            prop_assert!(!index.contains(m, &ent, scope));
        }
    }
}
