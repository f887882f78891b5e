//! The tamper-evident audit chain (ARCHITECTURE.md §3). Every registry event and every audited
//! decision is one record with a sequence number; a record's hash covers its sequence number, kind,
//! time and canonical payload; each committed batch's hash is SHA-256(previous batch hash ‖ the
//! hashes of its records). Purging a record keeps its hash (a tombstone), so the chain still verifies.
//! The head (last seq, last batch hash) can be pinned outside the machine; a rewrite of the whole
//! file then no longer matches it.

use sha2::{Digest, Sha256};

/// The hash before the first batch.
pub const GENESIS: [u8; 32] = [0; 32];

pub fn record_hash(seq: u64, kind: &str, at_ns: i64, payload: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"portcullis.audit.v1\0");
    h.update(seq.to_be_bytes());
    h.update(kind.as_bytes());
    h.update([0]);
    h.update(at_ns.to_be_bytes());
    h.update(payload.as_bytes());
    h.finalize().into()
}

pub fn batch_hash<'a>(
    prev: &[u8; 32],
    records: impl IntoIterator<Item = &'a [u8; 32]>,
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev);
    for r in records {
        h.update(r);
    }
    h.finalize().into()
}

pub fn to_hex(h: &[u8; 32]) -> String {
    hex::encode(h)
}

pub fn from_hex(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// A pinned chain head, as `audit head` prints it: `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: u64,
    pub hash: String,
}

impl Head {
    pub fn parse(s: &str) -> Option<Head> {
        let (seq, hash) = s.trim().split_once(':')?;
        let seq = seq.parse().ok()?;
        from_hex(hash)?;
        Some(Head {
            seq,
            hash: hash.to_ascii_lowercase(),
        })
    }
}

impl std::fmt::Display for Head {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// What a walk of the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub ok: bool,
    pub records: u64,
    pub head: Head,
    /// The first record whose link is broken (0 when ok).
    pub first_bad_seq: u64,
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_changes_the_record_hash() {
        let base = record_hash(7, "opted_out", 1, "{\"a\":1}");
        assert_ne!(base, record_hash(8, "opted_out", 1, "{\"a\":1}"));
        assert_ne!(base, record_hash(7, "opted_in", 1, "{\"a\":1}"));
        assert_ne!(base, record_hash(7, "opted_out", 2, "{\"a\":1}"));
        assert_ne!(base, record_hash(7, "opted_out", 1, "{\"a\":2}"));
        let b1 = batch_hash(&GENESIS, [&base]);
        assert_ne!(b1, batch_hash(&[1; 32], [&base]));
    }

    #[test]
    fn heads_round_trip() {
        let head = Head {
            seq: 42,
            hash: to_hex(&[0xab; 32]),
        };
        assert_eq!(Head::parse(&head.to_string()), Some(head));
        assert_eq!(Head::parse("42:zz"), None);
        assert_eq!(Head::parse("x:00"), None);
    }
}
