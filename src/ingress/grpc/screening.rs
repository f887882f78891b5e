//! `Screening.Screen` and `Screening.ScreenStream`. Screening itself is synchronous and takes
//! microseconds, so each call screens inline; a stream answers in request order through a bounded
//! channel, so a gateway that stops reading stops being read from (HTTP/2 flow control does the rest)
//! instead of growing memory here. Overload is never a silent queue: a unary call finding the
//! store's queue full is refused RESOURCE_EXHAUSTED at once; a stream is slowed (its gateway sees
//! its own sends block) rather than failed, since failing a stream would fail every message on it.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::metrics::EdgeMetrics;
use crate::proto::screening_server::Screening;
use crate::proto::{Decision, ScreenRequest};
use crate::screening::{Persist, RequestError, Screener};
use crate::store::{RegistryStore, StoreError};

pub struct ScreeningService {
    screener: Arc<Screener>,
    store: Arc<dyn RegistryStore>,
    stream_buffer: usize,
    metrics: Arc<EdgeMetrics>,
}

impl ScreeningService {
    pub fn new(
        screener: Arc<Screener>,
        store: Arc<dyn RegistryStore>,
        stream_buffer: usize,
        metrics: Arc<EdgeMetrics>,
    ) -> ScreeningService {
        ScreeningService {
            screener,
            store,
            stream_buffer,
            metrics,
        }
    }
}

/// Screens one request and queues what it leaves for the store. The decision is answered once its
/// idempotency row and audit record are queued (in order, behind any earlier write), not committed:
/// waiting for the fsync would put the group-commit latency on every message. A crash can lose the
/// last few milliseconds of decisions; a gateway's retry then gets a fresh decision.
async fn screen_and_queue(
    screener: &Screener,
    store: &dyn RegistryStore,
    req: &ScreenRequest,
) -> Result<Decision, RequestError> {
    let (decision, persist) = screener.screen(req)?;
    if !persist.is_empty() {
        let Persist { idempotency, audit } = persist;
        if let Err(e) = store
            .enqueue(
                audit.into_iter().collect(),
                idempotency.into_iter().collect(),
            )
            .await
        {
            tracing::error!(error = %e, "decision not queued for the store");
        }
    }
    Ok(decision)
}

#[tonic::async_trait]
impl Screening for ScreeningService {
    /// A unary screen takes its place in the store's queue first: when the queue is full the call
    /// is refused RESOURCE_EXHAUSTED at once, before anything is decided, so the gateway's retry
    /// gets a fresh decision and a decision is never answered without its record queued.
    async fn screen(&self, request: Request<ScreenRequest>) -> Result<Response<Decision>, Status> {
        let req = request.into_inner();
        let slot = self.store.try_reserve().map_err(|e| {
            if matches!(e, StoreError::Busy) {
                self.metrics.screen_queue.increment(1);
            }
            Status::from(e)
        })?;
        let (decision, persist) = self.screener.screen(&req).map_err(Status::from)?;
        if !persist.is_empty() {
            let Persist { idempotency, audit } = persist;
            // The receiver resolves on commit; screening does not wait for it (see
            // `screen_and_queue`).
            drop(slot.send(
                audit.into_iter().collect(),
                idempotency.into_iter().collect(),
            ));
        }
        Ok(Response::new(decision))
    }

    type ScreenStreamStream = ReceiverStream<Result<Decision, Status>>;

    async fn screen_stream(
        &self,
        request: Request<Streaming<ScreenRequest>>,
    ) -> Result<Response<Self::ScreenStreamStream>, Status> {
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(self.stream_buffer);
        let screener = Arc::clone(&self.screener);
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            screener.metrics().streams_active.increment(1.0);
            while let Some(item) = inbound.next().await {
                let (answer, last) = match item {
                    Ok(req) => {
                        let decision = match screen_and_queue(&screener, store.as_ref(), &req).await
                        {
                            Ok(d) => d,
                            Err(e) => screener.malformed_decision(&req, &e),
                        };
                        (Ok(decision), false)
                    }
                    // A frame that is not a ScreenRequest at all: the stream cannot go on.
                    Err(status) => (
                        Err(Status::invalid_argument(format!(
                            "stream: {}",
                            status.message()
                        ))),
                        true,
                    ),
                };
                if tx.send(answer).await.is_err() || last {
                    break;
                }
            }
            screener.metrics().streams_active.decrement(1.0);
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
