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
use crate::screening::Screener;

pub struct ScreeningService {
    screener: Arc<Screener>,
    stream_buffer: usize,
}

impl ScreeningService {
    pub fn new(screener: Arc<Screener>, stream_buffer: usize) -> ScreeningService {
        ScreeningService {
            screener,
            stream_buffer,
        }
    }
}

#[tonic::async_trait]
impl Screening for ScreeningService {
    async fn screen(&self, request: Request<ScreenRequest>) -> Result<Response<Decision>, Status> {
        let req = request.into_inner();
        self.screener
            .screen(&req)
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
        tokio::spawn(async move {
            screener.metrics().streams_active.increment(1.0);
            while let Some(item) = inbound.next().await {
                let (answer, last) = match item {
                    Ok(req) => {
                        let decision = screener
                            .screen(&req)
                            .unwrap_or_else(|e| screener.malformed_decision(&req, &e));
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
