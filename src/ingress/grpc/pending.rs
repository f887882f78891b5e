//! Operations: registered so operators' tools and reflection see the whole API.md contract,
//! answering UNIMPLEMENTED (naming the issue that brings each method) until the regional throttles
//! and classifier issues land. Nothing is acknowledged, so nothing a client sends here can be lost.

use tonic::{Request, Response, Status};

use crate::proto::operations_server::Operations;
use crate::proto::*;

/// The services that are registered but not yet implemented.
#[derive(Debug, Default, Clone, Copy)]
pub struct PendingService;

fn not_yet(method: &str, issue: &str) -> Status {
    Status::unimplemented(format!(
        "{method}: not implemented in this version (arrives with {issue})"
    ))
}

const THROTTLES: &str = "the regional throttles";

#[tonic::async_trait]
impl Operations for PendingService {
    async fn block_region(
        &self,
        _: Request<RegionBlock>,
    ) -> Result<Response<RegionBlockState>, Status> {
        Err(not_yet("Operations.BlockRegion", THROTTLES))
    }
    async fn unblock_region(
        &self,
        _: Request<RegionBlock>,
    ) -> Result<Response<RegionBlockState>, Status> {
        Err(not_yet("Operations.UnblockRegion", THROTTLES))
    }
    async fn set_region_policy(
        &self,
        _: Request<RegionPolicy>,
    ) -> Result<Response<RegionPolicy>, Status> {
        Err(not_yet("Operations.SetRegionPolicy", THROTTLES))
    }
    async fn list_throttles(
        &self,
        _: Request<ListThrottlesRequest>,
    ) -> Result<Response<ListThrottlesResponse>, Status> {
        Err(not_yet("Operations.ListThrottles", THROTTLES))
    }
    async fn feedback(&self, _: Request<FeedbackRequest>) -> Result<Response<FeedbackAck>, Status> {
        Err(not_yet("Operations.Feedback", "the content classifier"))
    }
}
