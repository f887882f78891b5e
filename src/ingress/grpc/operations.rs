//! `Operations`: operators block or lift a province by hand, override the complaint-rate policy and
//! see every level above NORMAL. Blocks and policies are committed to the audit chain (with the
//! operator's name) before they take effect and before the answer, so they survive `kill -9`.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::convert::*;
use crate::domain::{Category, CategorySet};
use crate::proto::operations_server::Operations;
use crate::proto::{self, ThrottleLevel};
use crate::screening::Screener;
use crate::store::RegistryStore;
use crate::store::event::{Event, RegionBlockRow, RegionPolicyRow};
use crate::throttle::RegionPolicy;
use crate::throttle::region::{Level, ManualBlock};

pub struct OperationsService {
    screener: Arc<Screener>,
    store: Arc<dyn RegistryStore>,
}

impl OperationsService {
    pub fn new(screener: Arc<Screener>, store: Arc<dyn RegistryStore>) -> OperationsService {
        OperationsService { screener, store }
    }

    fn province(&self, raw: &str, allow_default: bool) -> Result<String, Status> {
        let p = raw.trim();
        if p.is_empty() && allow_default {
            return Ok(String::new());
        }
        if !self.screener.live().throttle.province_known(p) {
            return Err(invalid(
                "province",
                format!("`{p}` is not a province of the number-segment table (e.g. 广东, 北京)"),
            ));
        }
        Ok(p.to_owned())
    }

    fn block_row(
        &self,
        b: &proto::RegionBlock,
        needs_reason: bool,
    ) -> Result<RegionBlockRow, Status> {
        let province = self.province(&b.province, false)?;
        if b.operator.trim().is_empty() {
            return Err(invalid(
                "operator",
                "empty: blocks are audited with the operator's name",
            ));
        }
        if needs_reason && b.reason.trim().is_empty() {
            return Err(invalid("reason", "empty: say why"));
        }
        let mut categories = CategorySet::EMPTY;
        for (i, v) in b.categories.iter().enumerate() {
            match category_from_proto(*v) {
                Some(c) => categories.insert(c),
                None => {
                    return Err(invalid(
                        "categories",
                        format!("entry {i}: {v} is not a category"),
                    ));
                }
            }
        }
        if categories.is_empty() {
            categories = CategorySet::of(&[Category::Marketing, Category::LoanMarketing]);
        }
        Ok(RegionBlockRow {
            province,
            enterprise: b.enterprise_id.trim().to_owned(),
            categories: categories.bits(),
            reason: b.reason.trim().to_owned(),
            operator: b.operator.trim().to_owned(),
            at_ns: nanos(self.screener.clock().now()),
        })
    }

    fn state(row: &RegionBlockRow, blocked: bool) -> proto::RegionBlockState {
        proto::RegionBlockState {
            block: Some(proto::RegionBlock {
                province: row.province.clone(),
                enterprise_id: row.enterprise.clone(),
                categories: categories_to_proto(CategorySet::from_bits(row.categories)),
                reason: row.reason.clone(),
                operator: row.operator.clone(),
            }),
            blocked,
            since: Some(to_proto_ts(row.at_ns)),
        }
    }
}

/// Does an existing block cover the same (province, enterprise) as a request? One block per pair.
fn same_target(b: &ManualBlock, row: &RegionBlockRow) -> bool {
    b.province == row.province && b.enterprise.as_deref().unwrap_or("") == row.enterprise
}

fn policy_to_proto(province: &str, p: &RegionPolicy) -> proto::RegionPolicy {
    proto::RegionPolicy {
        province: province.to_owned(),
        warn_rate: p.warn_rate,
        throttle_rate: p.throttle_rate,
        block_rate: p.block_rate,
        release_rate: p.release_rate,
        min_messages: p.min_messages,
        min_complaints: p.min_complaints,
        throttle_msgs_per_s: p.throttle_msgs_per_s,
    }
}

fn level_to_proto(l: Level) -> ThrottleLevel {
    match l {
        Level::Normal => ThrottleLevel::Normal,
        Level::Warn => ThrottleLevel::Warn,
        Level::Throttled => ThrottleLevel::Throttled,
        Level::Blocked => ThrottleLevel::Blocked,
    }
}

#[tonic::async_trait]
impl Operations for OperationsService {
    async fn block_region(
        &self,
        request: Request<proto::RegionBlock>,
    ) -> Result<Response<proto::RegionBlockState>, Status> {
        let row = self.block_row(&request.into_inner(), true)?;
        self.store
            .commit(vec![Event::RegionBlocked(row.clone())])
            .await
            .map_err(Status::from)?;
        let throttle = &self.screener.live().throttle;
        let mut blocks: Vec<ManualBlock> = throttle
            .blocks()
            .iter()
            .filter(|b| !same_target(b, &row))
            .cloned()
            .collect();
        blocks.push(ManualBlock::from_row(&row));
        throttle.set_blocks(blocks);
        tracing::warn!(province = %row.province, enterprise = %row.enterprise, operator = %row.operator, reason = %row.reason, "region blocked by operator");
        Ok(Response::new(Self::state(&row, true)))
    }

    async fn unblock_region(
        &self,
        request: Request<proto::RegionBlock>,
    ) -> Result<Response<proto::RegionBlockState>, Status> {
        let mut row = self.block_row(&request.into_inner(), false)?;
        let throttle = &self.screener.live().throttle;
        let current = throttle.blocks();
        let Some(existing) = current.iter().find(|b| same_target(b, &row)) else {
            return Err(Status::not_found(format!(
                "no operator block on {} for {}",
                row.province,
                if row.enterprise.is_empty() {
                    "every enterprise"
                } else {
                    &row.enterprise
                }
            )));
        };
        row.categories = existing.categories.bits();
        self.store
            .commit(vec![Event::RegionUnblocked(row.clone())])
            .await
            .map_err(Status::from)?;
        let blocks = current
            .iter()
            .filter(|b| !same_target(b, &row))
            .cloned()
            .collect();
        throttle.set_blocks(blocks);
        tracing::warn!(province = %row.province, enterprise = %row.enterprise, operator = %row.operator, "region unblocked by operator");
        Ok(Response::new(Self::state(&row, false)))
    }

    /// Fields left at 0 keep the current effective value (an unspecified value means the default).
    async fn set_region_policy(
        &self,
        request: Request<proto::RegionPolicy>,
    ) -> Result<Response<proto::RegionPolicy>, Status> {
        let r = request.into_inner();
        let province = self.province(&r.province, true)?;
        let throttle = &self.screener.live().throttle;
        let base = throttle.effective_policy(&province);
        let pick = |v: f64, b: f64| if v == 0.0 { b } else { v };
        let policy = RegionPolicy {
            warn_rate: pick(r.warn_rate, base.warn_rate),
            throttle_rate: pick(r.throttle_rate, base.throttle_rate),
            block_rate: pick(r.block_rate, base.block_rate),
            release_rate: pick(r.release_rate, base.release_rate),
            min_messages: if r.min_messages == 0 {
                base.min_messages
            } else {
                r.min_messages
            },
            min_complaints: if r.min_complaints == 0 {
                base.min_complaints
            } else {
                r.min_complaints
            },
            throttle_msgs_per_s: pick(r.throttle_msgs_per_s, base.throttle_msgs_per_s),
        };
        let mut errors = Vec::new();
        policy.validate("policy", &mut errors);
        if let Some(first) = errors.first() {
            let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
            let field = first.path.rsplit('.').next().unwrap_or("policy").to_owned();
            return Err(Status::invalid_argument(format!(
                "{field}: {}",
                all.join("; ")
            )));
        }
        let row = RegionPolicyRow {
            province: province.clone(),
            warn_rate: policy.warn_rate.to_bits(),
            throttle_rate: policy.throttle_rate.to_bits(),
            block_rate: policy.block_rate.to_bits(),
            release_rate: policy.release_rate.to_bits(),
            min_messages: policy.min_messages,
            min_complaints: policy.min_complaints,
            throttle_msgs_per_s: policy.throttle_msgs_per_s.to_bits(),
            at_ns: nanos(self.screener.clock().now()),
        };
        self.store
            .commit(vec![Event::RegionPolicySet(row)])
            .await
            .map_err(Status::from)?;
        throttle.set_override(&province, policy);
        Ok(Response::new(policy_to_proto(&province, &policy)))
    }

    async fn list_throttles(
        &self,
        request: Request<proto::ListThrottlesRequest>,
    ) -> Result<Response<proto::ListThrottlesResponse>, Status> {
        let r = request.into_inner();
        let province = (!r.province.trim().is_empty()).then(|| r.province.trim());
        let enterprise = (!r.enterprise_id.trim().is_empty()).then(|| r.enterprise_id.trim());
        let now = self.screener.clock().now();
        let states = self
            .screener
            .live()
            .throttle
            .states(province, enterprise, now)
            .into_iter()
            .map(|s| proto::ThrottleState {
                province: s.province,
                enterprise_id: s.enterprise,
                level: level_to_proto(s.level) as i32,
                complaint_rate: s.complaint_rate,
                messages: s.messages,
                complaints: s.complaints,
                manual: s.manual,
                since: Some(to_proto_ts(s.since_ns)),
            })
            .collect();
        Ok(Response::new(proto::ListThrottlesResponse { states }))
    }

    async fn feedback(
        &self,
        _: Request<proto::FeedbackRequest>,
    ) -> Result<Response<proto::FeedbackAck>, Status> {
        Err(Status::unimplemented(
            "Operations.Feedback: not implemented in this version (arrives with the content classifier)",
        ))
    }
}
