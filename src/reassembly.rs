//! Long SMS reassembly (API.md "Long SMS"). Spammers split a text across parts so no single part
//! looks like anything; Portcullis therefore holds each part (CONCAT_PENDING) until the whole
//! message is there, screens the whole text once, and answers every part with that one decision.
//!
//! Parts are keyed by (sender_port, msisdn, reference) and live only in memory: a restart forgets
//! them, and a gateway re-submits a held part at its `hold_until` anyway, which starts the message
//! again. Memory is bounded by `concat.max_pending_parts`; when a new part would pass it, the
//! message with the earliest deadline is given up (its parts are rejected CONCAT_INCOMPLETE).
//!
//! Only parts of a long message take the lock here; single messages never touch this module.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::smpp::{self, DataCoding, PayloadError};

/// Which long message a part belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConcatKey {
    pub sender_port: String,
    pub msisdn: crate::domain::Msisdn,
    pub reference: u32,
}

/// One part as submitted.
#[derive(Debug, Clone, Copy)]
pub struct PartIn<'a> {
    pub seq: u8,
    pub total: u8,
    pub message_id: &'a str,
    /// `None` for a UTF-8 text part, else the data coding of a raw SMPP body.
    pub coding: Option<DataCoding>,
    /// The text's UTF-8 bytes, or the raw body after the UDH.
    pub body: &'a [u8],
    /// The idempotency hash of what was submitted under `message_id`.
    pub text_hash: u64,
}

#[derive(Debug, Clone)]
struct Part {
    message_id: String,
    body: Vec<u8>,
    text_hash: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for parts until the deadline.
    Collecting,
    /// Complete; one request is screening the whole text now.
    Screening,
    /// Complete, and the whole message was held until this time (quiet hours, a throttle).
    Held { until: i64 },
}

#[derive(Debug)]
struct Pending {
    total: u8,
    coding: Option<DataCoding>,
    parts: Vec<Option<Part>>,
    received: u8,
    /// Unix seconds: the first part's arrival plus `concat.timeout_secs`.
    deadline: i64,
    /// Arrival order, for eviction.
    order: u64,
    state: State,
}

/// Every part of a message, in seq order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartRef {
    pub seq: u8,
    pub message_id: String,
    pub text_hash: u64,
}

/// A complete long message.
#[derive(Debug, Clone)]
pub struct Whole {
    pub key: ConcatKey,
    pub total: u8,
    pub parts: Vec<PartRef>,
    /// The decoded whole text, or why it does not decode.
    pub text: Result<String, PayloadError>,
    /// Segments the parts take on the air interface (the sum over parts, as billed).
    pub segments: u32,
}

/// A message given up before it was complete.
#[derive(Debug, Clone)]
pub struct Incomplete {
    pub key: ConcatKey,
    pub total: u8,
    pub parts: Vec<PartRef>,
    /// What the received parts say, for the audit (undecodable octets shown as U+FFFD).
    pub evidence: String,
    pub evicted: bool,
}

/// What a part leads to.
#[derive(Debug)]
pub enum Added {
    /// More parts are missing: hold until the deadline.
    Pending { deadline: i64 },
    /// The message is complete: screen the whole text, then call `finish` or `hold`.
    Complete(Whole),
    /// Another request is screening the whole message right now, or it is held until `until`.
    Busy { until: i64 },
    /// The message's deadline passed before it was complete.
    Expired(Incomplete),
}

/// A part that contradicts the parts before it; the caller answers MALFORMED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict(pub String);

#[derive(Debug, Default)]
struct Parts {
    messages: HashMap<ConcatKey, Pending>,
    by_order: BTreeMap<u64, ConcatKey>,
    parts: usize,
    next_order: u64,
}

#[derive(Debug)]
pub struct Reassembly {
    inner: Mutex<Parts>,
    max_parts: usize,
}

impl Default for Reassembly {
    fn default() -> Reassembly {
        Reassembly::new(DEFAULT_MAX_PENDING_PARTS)
    }
}

/// Default cap on parts held in memory (about 30 MB at the longest parts).
pub const DEFAULT_MAX_PENDING_PARTS: usize = 100_000;

impl Reassembly {
    pub fn new(max_parts: usize) -> Reassembly {
        Reassembly {
            inner: Mutex::new(Parts::default()),
            max_parts: max_parts.max(16),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Parts> {
        // The map stays consistent at every await-free step, so a panic elsewhere does not taint it.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Parts held now.
    pub fn pending_parts(&self) -> usize {
        self.lock().parts
    }

    /// Adds a part. The second value is a message given up to make room, if the cap bit.
    pub fn add(
        &self,
        key: ConcatKey,
        part: PartIn<'_>,
        now: i64,
        timeout_secs: i64,
    ) -> Result<(Added, Option<Incomplete>), Conflict> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        if let Some(p) = inner.messages.get(&key) {
            check_consistent(&key, p, &part)?;
            if p.state == State::Collecting && now >= p.deadline {
                let mut p = inner.remove(&key).unwrap_or_else(|| unreachable_pending());
                if p.parts[usize::from(part.seq - 1)].is_none() {
                    p.parts[usize::from(part.seq - 1)] = Some(Part::from(&part));
                }
                return Ok((Added::Expired(incomplete(key, &p, false)), None));
            }
        }
        let mut evicted = None;
        if !inner.messages.contains_key(&key) {
            if inner.parts + 1 > self.max_parts {
                evicted = inner.evict_oldest();
            }
            let order = inner.next_order;
            inner.next_order += 1;
            inner.by_order.insert(order, key.clone());
            inner.messages.insert(
                key.clone(),
                Pending {
                    total: part.total,
                    coding: part.coding,
                    parts: vec![None; usize::from(part.total)],
                    received: 0,
                    deadline: now + timeout_secs,
                    order,
                    state: State::Collecting,
                },
            );
        } else if inner.parts + 1 > self.max_parts
            && inner.messages[&key].parts[usize::from(part.seq - 1)].is_none()
        {
            evicted = inner.evict_oldest_except(&key);
        }
        let Some(p) = inner.messages.get_mut(&key) else {
            unreachable_pending()
        };
        let slot = &mut p.parts[usize::from(part.seq - 1)];
        if slot.is_none() {
            *slot = Some(Part::from(&part));
            p.received += 1;
            inner.parts += 1;
        }
        let added = match p.state {
            State::Collecting if p.received < p.total => Added::Pending {
                deadline: p.deadline,
            },
            State::Collecting => {
                p.state = State::Screening;
                Added::Complete(whole(key, p))
            }
            State::Held { until } if now >= until => {
                p.state = State::Screening;
                Added::Complete(whole(key, p))
            }
            State::Held { until } => Added::Busy { until },
            State::Screening => Added::Busy { until: now + 1 },
        };
        Ok((added, evicted))
    }

    /// What adding `part` would lead to, changing nothing (dry runs).
    pub fn peek(&self, key: &ConcatKey, part: PartIn<'_>, now: i64, timeout_secs: i64) -> Added {
        let inner = self.lock();
        let Some(p) = inner.messages.get(key) else {
            if part.total == 1 {
                let mut p = Pending::first(&part, now, timeout_secs);
                p.parts[0] = Some(Part::from(&part));
                return Added::Complete(whole(key.clone(), &p));
            }
            return Added::Pending {
                deadline: now + timeout_secs,
            };
        };
        if check_consistent(key, p, &part).is_err() {
            return Added::Busy { until: now };
        }
        let mut parts = p.parts.clone();
        parts[usize::from(part.seq - 1)].get_or_insert_with(|| Part::from(&part));
        if parts.iter().all(Option::is_some) {
            let p = Pending {
                parts,
                received: p.total,
                coding: p.coding,
                ..*p
            };
            Added::Complete(whole(key.clone(), &p))
        } else {
            Added::Pending {
                deadline: p.deadline,
            }
        }
    }

    /// The whole message got a final decision: forget its parts.
    pub fn finish(&self, key: &ConcatKey) {
        self.lock().remove(key);
    }

    /// The whole message was held until `until`: keep its parts for the re-screen.
    pub fn hold(&self, key: &ConcatKey, until: i64) {
        if let Some(p) = self.lock().messages.get_mut(key) {
            p.state = State::Held { until };
        }
    }

    /// Gives up messages past their deadline, and held ones whose gateway did not come back within
    /// `grace_secs` of the hold's end.
    pub fn expire(&self, now: i64, grace_secs: i64) -> Vec<Incomplete> {
        let mut inner = self.lock();
        let due: Vec<ConcatKey> = inner
            .messages
            .iter()
            .filter(|(_, p)| match p.state {
                State::Collecting => now >= p.deadline,
                State::Held { until } => now >= until + grace_secs,
                State::Screening => false,
            })
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for key in due {
            if let Some(p) = inner.remove(&key)
                && p.state == State::Collecting
            {
                out.push(incomplete(key, &p, false));
            }
        }
        out
    }
}

fn unreachable_pending() -> ! {
    unreachable!("the message was inserted or found under the lock just above")
}

impl Pending {
    fn first(part: &PartIn<'_>, now: i64, timeout_secs: i64) -> Pending {
        Pending {
            total: part.total,
            coding: part.coding,
            parts: vec![None; usize::from(part.total)],
            received: 0,
            deadline: now + timeout_secs,
            order: 0,
            state: State::Collecting,
        }
    }
}

impl Parts {
    fn remove(&mut self, key: &ConcatKey) -> Option<Pending> {
        let p = self.messages.remove(key)?;
        self.by_order.remove(&p.order);
        self.parts -= usize::from(p.received);
        Some(p)
    }

    fn evict_oldest(&mut self) -> Option<Incomplete> {
        let key = self.by_order.values().next()?.clone();
        let p = self.remove(&key)?;
        Some(incomplete(key, &p, true))
    }

    fn evict_oldest_except(&mut self, keep: &ConcatKey) -> Option<Incomplete> {
        let key = self.by_order.values().find(|k| *k != keep)?.clone();
        let p = self.remove(&key)?;
        Some(incomplete(key, &p, true))
    }
}

impl From<&PartIn<'_>> for Part {
    fn from(p: &PartIn<'_>) -> Part {
        Part {
            message_id: p.message_id.to_owned(),
            body: p.body.to_vec(),
            text_hash: p.text_hash,
        }
    }
}

fn check_consistent(key: &ConcatKey, p: &Pending, part: &PartIn<'_>) -> Result<(), Conflict> {
    if p.total != part.total {
        return Err(Conflict(format!(
            "reference {} was begun with total {}, this part says {}",
            key.reference, p.total, part.total
        )));
    }
    if p.coding != part.coding {
        return Err(Conflict(format!(
            "reference {} was begun in another data coding (or as text)",
            key.reference
        )));
    }
    if let Some(Some(have)) = p.parts.get(usize::from(part.seq - 1))
        && have.message_id != part.message_id
    {
        return Err(Conflict(format!(
            "seq {} of reference {} was already received as message_id `{}`",
            part.seq, key.reference, have.message_id
        )));
    }
    Ok(())
}

fn refs(p: &Pending) -> Vec<PartRef> {
    p.parts
        .iter()
        .zip(1u8..)
        .filter_map(|(part, seq)| {
            part.as_ref().map(|part| PartRef {
                seq,
                message_id: part.message_id.clone(),
                text_hash: part.text_hash,
            })
        })
        .collect()
}

fn whole(key: ConcatKey, p: &Pending) -> Whole {
    let bodies = p.parts.iter().flatten().map(|part| part.body.as_slice());
    let segments = bodies.clone().map(|b| part_segments(p.coding, b)).sum();
    let text = match p.coding {
        None => Ok(bodies.map(String::from_utf8_lossy).collect()),
        Some(coding) => {
            // Decoded as one: a character may straddle two parts.
            let joined: Vec<u8> = bodies.flatten().copied().collect();
            let mut text = String::new();
            smpp::decode_into(coding, &joined, &mut text).map(|()| text)
        }
    };
    Whole {
        key,
        total: p.total,
        parts: refs(p),
        text,
        segments,
    }
}

/// The segments one part takes as billed: a text part by its characters, a raw body by the units
/// of its coding.
pub fn part_segments(coding: Option<DataCoding>, body: &[u8]) -> u32 {
    match coding {
        None => crate::pipeline::segments::count(&String::from_utf8_lossy(body)).count,
        Some(coding) => smpp::body_segments(coding, body).count,
    }
}

fn incomplete(key: ConcatKey, p: &Pending, evicted: bool) -> Incomplete {
    let evidence = p
        .parts
        .iter()
        .flatten()
        .map(|part| match p.coding {
            None => String::from_utf8_lossy(&part.body).into_owned(),
            Some(coding) => smpp::decode_lossy(coding, &part.body),
        })
        .collect::<Vec<_>>()
        .join(" … ");
    Incomplete {
        key,
        total: p.total,
        parts: refs(p),
        evidence,
        evicted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(reference: u32) -> ConcatKey {
        ConcatKey {
            sender_port: "10690001".to_owned(),
            msisdn: crate::domain::Msisdn::parse("13800138000").unwrap(),
            reference,
        }
    }

    fn part<'a>(seq: u8, total: u8, id: &'a str, text: &'a str) -> PartIn<'a> {
        PartIn {
            seq,
            total,
            message_id: id,
            coding: None,
            body: text.as_bytes(),
            text_hash: crate::domain::stable_hash64(text.as_bytes()),
        }
    }

    #[test]
    fn parts_in_any_order_make_one_whole_text() {
        let r = Reassembly::default();
        let (a, _) = r.add(key(1), part(3, 3, "m3", "ghi"), 100, 60).unwrap();
        assert!(matches!(a, Added::Pending { deadline: 160 }));
        let (a, _) = r.add(key(1), part(1, 3, "m1", "abc"), 110, 60).unwrap();
        assert!(matches!(a, Added::Pending { deadline: 160 }));
        assert_eq!(r.pending_parts(), 2);
        let (a, _) = r.add(key(1), part(2, 3, "m2", "def"), 120, 60).unwrap();
        let Added::Complete(w) = a else {
            panic!("expected complete, got {a:?}")
        };
        assert_eq!(w.text.unwrap(), "abcdefghi");
        let ids: Vec<_> = w.parts.iter().map(|p| p.message_id.as_str()).collect();
        assert_eq!(ids, ["m1", "m2", "m3"]);
        assert_eq!(w.segments, 3);
        // Screening in progress: a retry of a part waits.
        let (a, _) = r.add(key(1), part(2, 3, "m2", "def"), 121, 60).unwrap();
        assert!(matches!(a, Added::Busy { .. }));
        r.finish(&key(1));
        assert_eq!(r.pending_parts(), 0);
    }

    #[test]
    fn a_message_past_its_deadline_is_incomplete() {
        let r = Reassembly::default();
        r.add(key(2), part(1, 3, "m1", "abc"), 100, 60).unwrap();
        let (a, _) = r.add(key(2), part(3, 3, "m3", "ghi"), 160, 60).unwrap();
        let Added::Expired(inc) = a else {
            panic!("expected expired, got {a:?}")
        };
        assert_eq!(inc.parts.len(), 2);
        assert_eq!(inc.evidence, "abc … ghi");
        assert_eq!(r.pending_parts(), 0);

        r.add(key(3), part(2, 2, "x2", "b"), 100, 60).unwrap();
        assert!(r.expire(159, 60).is_empty());
        let gone = r.expire(160, 60);
        assert_eq!(gone.len(), 1);
        assert!(!gone[0].evicted);
    }

    #[test]
    fn contradicting_parts_are_conflicts() {
        let r = Reassembly::default();
        r.add(key(4), part(1, 3, "m1", "abc"), 100, 60).unwrap();
        assert!(
            r.add(key(4), part(2, 2, "m2", "x"), 100, 60)
                .unwrap_err()
                .0
                .contains("total 3")
        );
        assert!(
            r.add(key(4), part(1, 3, "other", "x"), 100, 60)
                .unwrap_err()
                .0
                .contains("already received as message_id `m1`")
        );
    }

    #[test]
    fn the_cap_gives_up_the_oldest_message() {
        let r = Reassembly::new(16);
        for i in 0..16 {
            let (_, ev) = r.add(key(i), part(1, 2, "a", "x"), 100, 60).unwrap();
            assert!(ev.is_none());
        }
        let (_, ev) = r.add(key(99), part(1, 2, "a", "x"), 101, 60).unwrap();
        let ev = ev.expect("the cap bit");
        assert!(ev.evicted);
        assert_eq!(ev.key.reference, 0);
        assert_eq!(r.pending_parts(), 16);
    }

    #[test]
    fn a_held_whole_message_is_screened_again_after_the_hold() {
        let r = Reassembly::default();
        r.add(key(5), part(1, 2, "m1", "ab"), 100, 60).unwrap();
        let (a, _) = r.add(key(5), part(2, 2, "m2", "cd"), 101, 60).unwrap();
        assert!(matches!(a, Added::Complete(_)));
        r.hold(&key(5), 500);
        let (a, _) = r.add(key(5), part(1, 2, "m1", "ab"), 400, 60).unwrap();
        assert!(matches!(a, Added::Busy { until: 500 }));
        let (a, _) = r.add(key(5), part(1, 2, "m1", "ab"), 500, 60).unwrap();
        assert!(matches!(a, Added::Complete(_)));
    }

    #[test]
    fn raw_parts_are_decoded_as_one_so_split_characters_survive() {
        // "€" is ESC 0x65 in GSM 7-bit; the split falls between the two septets.
        let r = Reassembly::default();
        let raw = |seq, body: &'static [u8]| PartIn {
            seq,
            total: 2,
            message_id: if seq == 1 { "g1" } else { "g2" },
            coding: Some(DataCoding::Gsm7),
            body,
            text_hash: u64::from(seq),
        };
        r.add(key(6), raw(1, b"5 \x1b"), 100, 60).unwrap();
        let (a, _) = r.add(key(6), raw(2, b"\x65 only"), 100, 60).unwrap();
        let Added::Complete(w) = a else { panic!() };
        assert_eq!(w.text.unwrap(), "5 € only");
    }

    #[test]
    fn peek_changes_nothing() {
        let r = Reassembly::default();
        r.add(key(7), part(1, 2, "m1", "ab"), 100, 60).unwrap();
        assert!(matches!(
            r.peek(&key(7), part(2, 2, "m2", "cd"), 100, 60),
            Added::Complete(_)
        ));
        assert!(matches!(
            r.peek(&key(8), part(2, 2, "m2", "cd"), 100, 60),
            Added::Pending { .. }
        ));
        assert_eq!(r.pending_parts(), 1);
    }
}
