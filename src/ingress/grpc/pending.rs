//! Registry, Complaints, Compliance and Operations: registered so gateways and reflection see the
//! whole API.md contract, answering UNIMPLEMENTED (with the issue that brings each) until their
//! issues land. None of them acknowledges anything, so nothing a client sends here can be lost.

use std::pin::Pin;

use tonic::{Request, Response, Status, Streaming};

use crate::proto::complaints_server::Complaints;
use crate::proto::compliance_server::Compliance;
use crate::proto::operations_server::Operations;
use crate::proto::registry_server::Registry;
use crate::proto::*;

/// The services that are registered but not yet implemented.
#[derive(Debug, Default, Clone, Copy)]
pub struct PendingService;

fn not_yet(method: &str, issue: &str) -> Status {
    Status::unimplemented(format!(
        "{method}: not implemented in this version (arrives with {issue})"
    ))
}

const REGISTRIES: &str = "the consent and opt-out registries";
const THROTTLES: &str = "the regional throttles";

type BoxStream<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send + 'static>>;

#[tonic::async_trait]
impl Registry for PendingService {
    async fn record_consent(
        &self,
        _: Request<RecordConsentRequest>,
    ) -> Result<Response<ConsentRecord>, Status> {
        Err(not_yet("Registry.RecordConsent", REGISTRIES))
    }
    async fn revoke_consent(
        &self,
        _: Request<RevokeConsentRequest>,
    ) -> Result<Response<ConsentRecord>, Status> {
        Err(not_yet("Registry.RevokeConsent", REGISTRIES))
    }
    async fn opt_out(&self, _: Request<OptOutRequest>) -> Result<Response<OptOutRecord>, Status> {
        Err(not_yet("Registry.OptOut", REGISTRIES))
    }
    async fn opt_in(&self, _: Request<OptInRequest>) -> Result<Response<OptOutRecord>, Status> {
        Err(not_yet("Registry.OptIn", REGISTRIES))
    }
    async fn handle_reply(&self, _: Request<MoReply>) -> Result<Response<ReplyOutcome>, Status> {
        Err(not_yet("Registry.HandleReply", REGISTRIES))
    }
    async fn import_opt_outs(
        &self,
        _: Request<Streaming<OptOutRequest>>,
    ) -> Result<Response<ImportSummary>, Status> {
        Err(not_yet("Registry.ImportOptOuts", REGISTRIES))
    }
}

#[tonic::async_trait]
impl Complaints for PendingService {
    async fn report(&self, _: Request<Complaint>) -> Result<Response<ComplaintAck>, Status> {
        Err(not_yet("Complaints.Report", REGISTRIES))
    }
}

#[tonic::async_trait]
impl Compliance for PendingService {
    type ConsentHistoryStream = BoxStream<ConsentEvent>;
    type DecisionsStream = BoxStream<DecisionRecord>;

    async fn consent_history(
        &self,
        _: Request<ConsentQuery>,
    ) -> Result<Response<Self::ConsentHistoryStream>, Status> {
        Err(not_yet("Compliance.ConsentHistory", REGISTRIES))
    }
    async fn decisions(
        &self,
        _: Request<DecisionQuery>,
    ) -> Result<Response<Self::DecisionsStream>, Status> {
        Err(not_yet("Compliance.Decisions", REGISTRIES))
    }
    async fn verify_audit(
        &self,
        _: Request<VerifyAuditRequest>,
    ) -> Result<Response<VerifyAuditReport>, Status> {
        Err(not_yet("Compliance.VerifyAudit", REGISTRIES))
    }
}

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
