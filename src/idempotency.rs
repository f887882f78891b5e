//! The idempotency store (API.md "Idempotency"): every final decision (RELEASE or REJECT) kept per
//! (sender_port, message_id) for `idempotency.ttl_hours`, so a gateway's retry gets the same
//! decision and decision_id; and the current HOLD of each held message, returned unchanged until
//! its `hold_until`. In memory in this version; the registries issue persists it.

use std::sync::Arc;

use dashmap::DashMap;

use crate::domain::stable_hash64;
use crate::proto;

/// (sender_port, message_id) folded to 128 bits: two independent 64-bit hashes, so a collision needs
/// both to collide within one TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageKey(u64, u64);

impl MessageKey {
    pub fn new(sender_port: &str, message_id: &str) -> MessageKey {
        let port = stable_hash64(sender_port.as_bytes());
        let id = stable_hash64(message_id.as_bytes());
        MessageKey(
            port ^ id.rotate_left(29),
            id.wrapping_add(port.rotate_left(7)),
        )
    }
}

#[derive(Debug, Clone)]
pub struct Stored {
    pub decision: Arc<proto::Decision>,
    /// Hash of the submitted text: a retry with another text under the same id is refused.
    pub text_hash: u64,
    /// Unix seconds: for finals the end of the TTL, for holds `hold_until`.
    pub until: i64,
    /// The text's campaign fingerprint, so a complaint naming this message attaches to its
    /// campaign (0 when unknown: restored from the store, which does not keep it).
    pub fingerprint: u128,
}

#[derive(Debug, Default)]
pub struct IdempotencyStore {
    finals: DashMap<MessageKey, Stored>,
    holds: DashMap<MessageKey, Stored>,
}

pub enum Prior {
    /// Nothing stored (or it expired): screen.
    None,
    /// A stored decision to answer with.
    Decided(Arc<proto::Decision>),
    /// The same key was used for a different text.
    TextChanged,
}

impl IdempotencyStore {
    /// The campaign fingerprint of a decided (final or held) message, if known.
    pub fn fingerprint(&self, key: MessageKey) -> Option<u128> {
        [&self.finals, &self.holds]
            .into_iter()
            .find_map(|map| map.get(&key).map(|s| s.fingerprint))
            .filter(|&fp| fp != 0)
    }

    pub fn prior(&self, key: MessageKey, text_hash: u64, now: i64) -> Prior {
        for map in [&self.finals, &self.holds] {
            if let Some(s) = map.get(&key)
                && now < s.until
            {
                return if s.text_hash == text_hash {
                    Prior::Decided(Arc::clone(&s.decision))
                } else {
                    Prior::TextChanged
                };
            }
        }
        Prior::None
    }

    pub fn store_final(&self, key: MessageKey, stored: Stored) {
        self.holds.remove(&key);
        self.finals.insert(key, stored);
    }

    pub fn store_hold(&self, key: MessageKey, stored: Stored) {
        self.holds.insert(key, stored);
    }

    /// Drops expired finals and holds whose time is long past (a gateway that never came back).
    pub fn sweep(&self, now: i64, hold_grace_secs: i64) {
        self.finals.retain(|_, s| now < s.until);
        self.holds.retain(|_, s| now < s.until + hold_grace_secs);
    }

    pub fn finals_len(&self) -> usize {
        self.finals.len()
    }

    pub fn holds_len(&self) -> usize {
        self.holds.len()
    }
}
