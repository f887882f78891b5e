//! `sms.held`: interim HOLDs come back when their `hold_until` is due and are screened again (the
//! screener then finds the final decision a long message's later part made, or decides afresh);
//! the result is final (released / rejected) or another HOLD, produced as a new held record. Records
//! wait in memory ordered by due time, so offsets finish out of order: a partition's offset is
//! stored only up to its oldest record not yet done. Past `kafka.max_pending_holds` the topic is
//! paused; records of a partition revoked meanwhile are dropped (its new owner gets them).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::Message as _;
use rdkafka::consumer::Consumer as _;
use tokio_util::sync::CancellationToken;

use super::client::{self, EdgeConsumer};
use super::record::{self, Encoding, RecordError};
use super::{Edge, Outgoing, content_type};
use crate::proto;
use crate::screening::Persist;

/// A held record waiting for its time.
struct Waiting {
    due_s: i64,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    /// The held record's value as read (a dead-letter record carries it untouched).
    value: Vec<u8>,
    encoding: Encoding,
    request: proto::ScreenRequest,
}

/// Per-partition offsets read and not yet done; what may be stored is just below the oldest.
#[derive(Default)]
pub(super) struct OffsetTracker {
    open: HashMap<i32, BTreeSet<i64>>,
    highest: HashMap<i32, i64>,
    stored: HashMap<i32, i64>,
}

impl OffsetTracker {
    pub(super) fn read(&mut self, partition: i32, offset: i64) {
        self.open.entry(partition).or_default().insert(offset);
        self.stored.entry(partition).or_insert(offset - 1);
        let h = self.highest.entry(partition).or_insert(offset);
        *h = (*h).max(offset);
    }

    /// Marks `offset` done; returns the offset now safe to store (every record up to it is done)
    /// if that moved forward.
    pub(super) fn done(&mut self, partition: i32, offset: i64) -> Option<i64> {
        let open = self.open.get_mut(&partition)?;
        open.remove(&offset);
        let safe = match open.first() {
            Some(&oldest) => oldest - 1,
            None => *self.highest.get(&partition)?,
        };
        let stored = self.stored.entry(partition).or_insert(safe - 1);
        (safe > *stored).then(|| {
            *stored = safe;
            safe
        })
    }

    pub(super) fn forget(&mut self, partition: i32) {
        self.open.remove(&partition);
        self.highest.remove(&partition);
        self.stored.remove(&partition);
    }
}

pub(super) async fn run(edge: Arc<Edge>, consumer: Arc<EdgeConsumer>, cancel: CancellationToken) {
    let topic = edge.config.topics.held.clone();
    let records_in = edge.metrics.records_in(&topic);
    let cap = edge.config.max_pending_holds;
    let mut queue: BinaryHeap<Reverse<(i64, i32, i64)>> = BinaryHeap::new();
    let mut waiting: HashMap<(i32, i64), Waiting> = HashMap::new();
    let mut offsets = OffsetTracker::default();
    let mut generation = consumer.context().generation();
    let mut paused = false;
    let mut last_commit = Instant::now();
    loop {
        let now_s = edge.screener.clock().now().as_second();
        let next_due = queue.peek().map(|Reverse((due, ..))| *due);
        let wait = match next_due {
            Some(due) if due <= now_s => Duration::ZERO,
            // Seconds are what hold_until carries; wake at most a second late, and commit meanwhile.
            _ => Duration::from_millis(250),
        };
        tokio::select! {
            () = cancel.cancelled() => break,
            () = tokio::time::sleep(wait) => {
                let due = take_due(&mut queue, &mut waiting, now_s, edge.config.max_batch);
                if !due.is_empty() && !finish(&edge, &consumer, &topic, due, &mut offsets, &cancel).await {
                    break;
                }
                if last_commit.elapsed() >= super::submit::COMMIT_INTERVAL {
                    client::commit(&consumer);
                    last_commit = Instant::now();
                }
            }
            m = consumer.recv() => {
                let m = match m {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(error = %e, "sms.held: consumer error");
                        continue;
                    }
                };
                records_in.increment(1);
                let (partition, offset) = (m.partition(), m.offset());
                offsets.read(partition, offset);
                let value = m.payload().unwrap_or_default();
                match decode_held(m.headers(), value) {
                    Ok((encoding, due_s, request)) => {
                        let due_s = due_s.unwrap_or(now_s);
                        queue.push(Reverse((due_s, partition, offset)));
                        waiting.insert((partition, offset), Waiting {
                            due_s,
                            partition,
                            offset,
                            key: m.key().map(<[u8]>::to_vec),
                            value: value.to_vec(),
                            encoding,
                            request,
                        });
                    }
                    Err(e) => {
                        let out = [edge.dead_letter(m.key(), value, m.headers(), &e)];
                        if !edge.produce_all(&out, &cancel).await {
                            break;
                        }
                        if let Some(safe) = offsets.done(partition, offset) {
                            let _ = consumer.store_offset(&topic, partition, safe);
                        }
                    }
                }
            }
        }
        let current = consumer.context().generation();
        if current != generation {
            generation = current;
            let before = waiting.len();
            waiting.retain(|&(p, _), _| consumer.context().owns(&topic, p));
            queue.retain(|Reverse((_, p, o))| waiting.contains_key(&(*p, *o)));
            for p in offsets.open.keys().copied().collect::<Vec<_>>() {
                if !consumer.context().owns(&topic, p) {
                    offsets.forget(p);
                }
            }
            if waiting.len() != before {
                tracing::info!(
                    dropped = before - waiting.len(),
                    "held records of revoked partitions left to their new owner"
                );
            }
            paused = false;
        }
        edge.metrics.holds_pending.set(waiting.len() as f64);
        if !paused && waiting.len() >= cap {
            if let Ok(assignment) = consumer.assignment() {
                let _ = consumer.pause(&assignment);
            }
            paused = true;
            tracing::warn!(
                cap,
                "held records at kafka.max_pending_holds: sms.held paused"
            );
        } else if paused && waiting.len() < cap / 2 {
            if let Ok(assignment) = consumer.assignment() {
                let _ = consumer.resume(&assignment);
            }
            paused = false;
        }
    }
    client::commit(&consumer);
    consumer.unsubscribe();
}

/// A held record: its encoding, when it is due (`None`: now) and the request to screen again.
fn decode_held(
    headers: Option<&rdkafka::message::BorrowedHeaders>,
    value: &[u8],
) -> Result<(Encoding, Option<i64>, proto::ScreenRequest), RecordError> {
    let encoding = Encoding::from_header(content_type(headers))?;
    let result: proto::ScreenResult = record::decode(record::SCREEN_RESULT, encoding, value)?;
    let due = result
        .decision
        .and_then(|d| d.hold_until)
        .map(|t| t.seconds);
    let request = result.request.ok_or(RecordError::Protobuf {
        message: record::SCREEN_RESULT,
        detail: "no request to screen again".into(),
    })?;
    Ok((encoding, due, request))
}

fn take_due(
    queue: &mut BinaryHeap<Reverse<(i64, i32, i64)>>,
    waiting: &mut HashMap<(i32, i64), Waiting>,
    now_s: i64,
    max: usize,
) -> Vec<Waiting> {
    let mut due = Vec::new();
    while due.len() < max {
        match queue.peek() {
            Some(Reverse((at, ..))) if *at <= now_s => {}
            _ => break,
        }
        if let Some(Reverse((_, p, o))) = queue.pop()
            && let Some(w) = waiting.remove(&(p, o))
        {
            due.push(w);
        }
    }
    due
}

/// Screens the due records again, stores, produces, and stores the offsets that became safe.
async fn finish(
    edge: &Edge,
    consumer: &EdgeConsumer,
    topic: &str,
    due: Vec<Waiting>,
    offsets: &mut OffsetTracker,
    cancel: &CancellationToken,
) -> bool {
    let mut persist = Persist::default();
    let mut out: Vec<Outgoing> = Vec::with_capacity(due.len());
    let mut done = Vec::with_capacity(due.len());
    for w in due {
        debug_assert!(w.due_s <= edge.screener.clock().now().as_second());
        edge.screen_record(
            w.key.as_deref(),
            &w.value,
            None,
            Ok((w.encoding, w.request)),
            &mut persist,
            &mut out,
        );
        done.push((w.partition, w.offset));
    }
    if !edge.store(persist, cancel).await || !edge.produce_all(&out, cancel).await {
        return false;
    }
    for (partition, offset) in done {
        if let Some(safe) = offsets.done(partition, offset) {
            let _ = consumer.store_offset(topic, partition, safe);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::OffsetTracker;

    #[test]
    fn offsets_are_stored_only_below_the_oldest_open_record() {
        let mut t = OffsetTracker::default();
        for o in 10..15 {
            t.read(0, o);
        }
        t.read(1, 3);
        assert_eq!(t.done(0, 12), None, "10 and 11 are still open");
        assert_eq!(t.done(0, 10), Some(10));
        assert_eq!(t.done(0, 11), Some(12), "12 was done already");
        assert_eq!(t.done(1, 3), Some(3));
        assert_eq!(t.done(0, 14), None);
        assert_eq!(t.done(0, 13), Some(14));
        assert_eq!(t.done(7, 1), None, "unknown partition");
    }
}
