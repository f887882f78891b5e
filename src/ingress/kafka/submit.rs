//! `sms.submit`: a two-stage pipeline. The reader takes what the consumer has ready (up to
//! `kafka.max_batch`), screens it synchronously and queues the batch's decisions for the store in
//! one write; the writer waits for that commit, produces the results, waits for every ack, and
//! only then stores the batch's offsets. Batches finish in the order they were read, so a stored
//! offset never passes a record that is not done; while one batch waits on the store and the broker
//! the next is being screened.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use rdkafka::Message as _;
use rdkafka::consumer::Consumer as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::client::{self, EdgeConsumer};
use super::{Edge, Outgoing, decode_request};
use crate::screening::Persist;

/// Batches screened but not yet acknowledged; bounds memory and how far screening runs ahead.
const IN_FLIGHT_BATCHES: usize = 4;
/// How often stored offsets are committed (and at every shutdown and revoke).
pub(super) const COMMIT_INTERVAL: Duration = Duration::from_millis(500);

struct Batch {
    persist: Persist,
    out: Vec<Outgoing>,
    /// Highest offset read per partition.
    offsets: HashMap<i32, i64>,
}

pub(super) async fn run(edge: Arc<Edge>, consumer: Arc<EdgeConsumer>, cancel: CancellationToken) {
    let (tx, rx) = mpsc::channel(IN_FLIGHT_BATCHES);
    let writer = tokio::spawn(write(
        Arc::clone(&edge),
        Arc::clone(&consumer),
        rx,
        cancel.clone(),
    ));
    let records_in = edge.metrics.records_in(&edge.config.topics.submit);
    loop {
        let first = tokio::select! {
            () = cancel.cancelled() => break,
            m = consumer.recv() => m,
        };
        let first = match first {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "sms.submit: consumer error");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let mut batch = Batch {
            persist: Persist::default(),
            out: Vec::new(),
            offsets: HashMap::new(),
        };
        let mut next = Some(first);
        let mut n = 0;
        while let Some(m) = next.take() {
            let value = m.payload().unwrap_or_default();
            let headers = m.headers();
            edge.screen_record(
                m.key(),
                value,
                headers,
                decode_request(headers, value),
                &mut batch.persist,
                &mut batch.out,
            );
            batch.offsets.insert(m.partition(), m.offset());
            n += 1;
            if n < edge.config.max_batch {
                next = match consumer.recv().now_or_never() {
                    Some(Ok(m)) => Some(m),
                    _ => None,
                };
            }
        }
        records_in.increment(n as u64);
        if tx.send(batch).await.is_err() {
            break;
        }
    }
    // Stop reading; the writer finishes what was read, commits, and the consumer leaves the group.
    drop(tx);
    let _ = writer.await;
    consumer.unsubscribe();
}

async fn write(
    edge: Arc<Edge>,
    consumer: Arc<EdgeConsumer>,
    mut rx: mpsc::Receiver<Batch>,
    cancel: CancellationToken,
) {
    let topic = edge.config.topics.submit.clone();
    let mut last_commit = Instant::now();
    let mut dirty = false;
    loop {
        let batch = tokio::select! {
            b = rx.recv() => b,
            () = tokio::time::sleep(COMMIT_INTERVAL) => {
                if dirty {
                    client::commit(&consumer);
                    dirty = false;
                    last_commit = Instant::now();
                }
                continue;
            }
        };
        let Some(batch) = batch else {
            break;
        };
        // Shutdown stops retries against a broken store or broker: the batch is then not done
        // and its records are redelivered.
        if !edge.store(batch.persist, &cancel).await || !edge.produce_all(&batch.out, &cancel).await
        {
            break;
        }
        for (partition, offset) in batch.offsets {
            if let Err(e) = consumer.store_offset(&topic, partition, offset) {
                // Revoked meanwhile: the new owner redelivers from the last commit.
                tracing::debug!(error = %e, partition, "offset not stored");
            }
        }
        dirty = true;
        if last_commit.elapsed() >= COMMIT_INTERVAL {
            client::commit(&consumer);
            dirty = false;
            last_commit = Instant::now();
        }
    }
    client::commit(&consumer);
}
