//! `Operations`: operators block or lift a province by hand, override the complaint-rate policy,
//! see every level above NORMAL, and correct the classifier (Feedback). Blocks, policies and
//! corrections are committed to the audit chain (with the operator's name) before they take effect
//! and before the answer, so they survive `kill -9`.

use std::pin::Pin;
use std::sync::Arc;

use base64::Engine as _;
use prost::Message as _;
use tonic::{Request, Response, Status};

use super::convert::*;
use crate::domain::{Category, CategorySet};
use crate::proto::operations_server::Operations;
use crate::proto::{self, ThrottleLevel};
use crate::screening::Screener;
use crate::store::RegistryStore;
use crate::store::event::{Event, FeedbackRow, RegionBlockRow, RegionPolicyRow};
use crate::throttle::RegionPolicy;
use crate::throttle::region::{Level, ManualBlock};

type BoxStream<T> = Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The time (ns) a UUID v7 decision id carries, or None for anything else.
fn decision_time_ns(id: &str) -> Option<i64> {
    let uuid = uuid::Uuid::parse_str(id).ok()?;
    if uuid.get_version_num() != 7 {
        return None;
    }
    let (secs, nanos) = uuid.get_timestamp()?.to_unix();
    i64::try_from(secs)
        .ok()?
        .checked_mul(1_000_000_000)?
        .checked_add(i64::from(nanos))
}

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

    /// The correction is committed to the audit chain, with the decided text, before the answer.
    async fn feedback(
        &self,
        request: Request<proto::FeedbackRequest>,
    ) -> Result<Response<proto::FeedbackAck>, Status> {
        let r = request.into_inner();
        if r.operator.trim().is_empty() {
            return Err(invalid(
                "operator",
                "empty: corrections are audited with the operator's name",
            ));
        }
        let category = match r.category {
            0 => None,
            v => Some(
                category_from_proto(v)
                    .ok_or_else(|| invalid("category", format!("{v} is not a category")))?,
            ),
        };
        let decision_id = r.decision_id.trim();
        let Some(decided_ns) = decision_time_ns(decision_id) else {
            return Err(invalid(
                "decision_id",
                format!("`{decision_id}` is not a decision id (Decision.decision_id, a UUID v7)"),
            ));
        };
        let found = self
            .store
            .decision_by_id(decision_id, decided_ns)
            .await
            .map_err(Status::from)?;
        let Some(Event::Decision(d)) = found.and_then(|e| e.event) else {
            return Err(Status::not_found(format!(
                "decision_id: no audited decision {decision_id} (decisions reach the audit trail \
                 within the writer's flush interval; a dry run has none)"
            )));
        };
        let text = base64::engine::general_purpose::STANDARD
            .decode(&d.request_pb)
            .ok()
            .and_then(|b| proto::ScreenRequest::decode(b.as_slice()).ok())
            .map(|req| req.text)
            .unwrap_or_default();
        let now = self.screener.clock().now();
        let row = FeedbackRow {
            feedback_id: new_id("fbk-", now),
            decision_id: decision_id.to_owned(),
            msisdn: d.msisdn,
            sender_port: d.sender_port,
            message_id: d.message_id,
            enterprise: d.enterprise,
            category: category.map_or_else(String::new, |c| c.as_str().to_owned()),
            spam: r.spam,
            note: r.note.trim().to_owned(),
            operator: r.operator.trim().to_owned(),
            text,
            at_ns: nanos(now),
        };
        let feedback_id = row.feedback_id.clone();
        self.store
            .commit(vec![Event::Feedback(row)])
            .await
            .map_err(Status::from)?;
        Ok(Response::new(proto::FeedbackAck { feedback_id }))
    }

    type ListFeedbackStream = BoxStream<proto::FeedbackRecord>;

    async fn list_feedback(
        &self,
        request: Request<proto::FeedbackQuery>,
    ) -> Result<Response<Self::ListFeedbackStream>, Status> {
        let q = request.into_inner();
        let (from, to) = match &q.range {
            Some(r) => (
                r.start
                    .as_ref()
                    .map(|t| from_proto_ts("range.start", t))
                    .transpose()?,
                r.end
                    .as_ref()
                    .map(|t| from_proto_ts("range.end", t))
                    .transpose()?,
            ),
            None => (None, None),
        };
        let events = self
            .store
            .feedback(from.unwrap_or(i64::MIN))
            .await
            .map_err(Status::from)?;
        let out: Vec<Result<proto::FeedbackRecord, Status>> = events
            .into_iter()
            .filter(|e| to.is_none_or(|to| e.at_ns < to))
            .filter_map(|e| match e.event {
                Some(Event::Feedback(f)) => Some(Ok(proto::FeedbackRecord {
                    feedback_id: f.feedback_id,
                    feedback: Some(proto::FeedbackRequest {
                        decision_id: f.decision_id,
                        category: Category::ALL
                            .into_iter()
                            .find(|c| c.as_str() == f.category)
                            .map_or(0, |c| crate::screening::proto_category(c) as i32),
                        spam: f.spam,
                        note: f.note,
                        operator: f.operator,
                    }),
                    text: f.text,
                    at: Some(to_proto_ts(f.at_ns)),
                    seq: e.seq,
                    hash: e.hash,
                    sender_port: f.sender_port,
                    message_id: f.message_id,
                })),
                _ => None,
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(out))))
    }
}
