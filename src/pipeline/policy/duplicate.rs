//! Duplicates: the same normalized text (a 64-bit hash) to the same msisdn from the same enterprise
//! within the window (RULES.md default 24 h) is REJECT DUPLICATE; verification codes are exempt.
//! Only released messages are remembered.

use dashmap::DashMap;

use crate::domain::{Msisdn, stable_hash64};

#[derive(Debug, Default)]
pub struct DuplicateWindow {
    /// (msisdn, enterprise hash, text hash) -> when it was last released (unix seconds)
    released: DashMap<(u64, u64, u64), i64>,
}

impl DuplicateWindow {
    fn key(msisdn: Msisdn, enterprise: &str, text_hash: u64) -> (u64, u64, u64) {
        (
            msisdn.as_u64(),
            stable_hash64(enterprise.as_bytes()),
            text_hash,
        )
    }

    pub fn is_duplicate(
        &self,
        msisdn: Msisdn,
        enterprise: &str,
        text_hash: u64,
        now: i64,
        window: i64,
    ) -> bool {
        window > 0
            && self
                .released
                .get(&Self::key(msisdn, enterprise, text_hash))
                .is_some_and(|at| now - *at < window)
    }

    /// Remembers a release; false (nothing changed) when it is a duplicate within the window.
    pub fn try_remember(
        &self,
        msisdn: Msisdn,
        enterprise: &str,
        text_hash: u64,
        now: i64,
        window: i64,
    ) -> bool {
        if window <= 0 {
            return true;
        }
        let mut entry = self
            .released
            .entry(Self::key(msisdn, enterprise, text_hash))
            .or_insert(i64::MIN);
        if *entry != i64::MIN && now - *entry < window {
            return false;
        }
        *entry = now;
        true
    }

    pub fn sweep(&self, now: i64, window: i64) {
        self.released.retain(|_, at| now - *at < window);
    }

    pub fn len(&self) -> usize {
        self.released.len()
    }

    pub fn is_empty(&self) -> bool {
        self.released.is_empty()
    }
}
