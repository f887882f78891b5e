//! `Screening.Screen` and `Screening.ScreenStream`. Screening itself is synchronous and takes
//! microseconds, so each call screens inline; a stream answers in request order through a bounded
//! channel, so a gateway that stops reading stops being read from (HTTP/2 flow control does the rest)
//! instead of growing memory here.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::proto::screening_server::Screening;
use crate::proto::{Decision, ScreenRequest};
use crate::screening::{Persist, RequestError, Screener};
use crate::store::RegistryStore;

pub struct ScreeningService {
    screener: Arc<Screener>,
    store: Arc<dyn RegistryStore>,
    stream_buffer: usize,
}

impl ScreeningService {
    pub fn new(
        screener: Arc<Screener>,
        store: Arc<dyn RegistryStore>,
        stream_buffer: usize,
    ) -> ScreeningService {
        ScreeningService {
            screener,
            store,
            stream_buffer,
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
    async fn screen(&self, request: Request<ScreenRequest>) -> Result<Response<Decision>, Status> {
        let req = request.into_inner();
        screen_and_queue(&self.screener, self.store.as_ref(), &req)
            .await
            .map(Response::new)
            .map_err(Status::from)
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
