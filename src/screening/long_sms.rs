//! The parts of a long SMS (API.md "Long SMS"): each part is held CONCAT_PENDING until the whole
//! message is in, the whole text is screened once, and every part's message id then answers with
//! that one decision. Parts missing at the deadline, or given up at the memory cap, end every part
//! received with REJECT CONCAT_INCOMPLETE. Holding the parts is `reassembly`'s job; this module
//! turns what it reports into decisions, stored and audited like any other.

use jiff::Timestamp;

use super::{
    Checked, DecisionFacts, PartOf, Persist, RequestError, Screener, audit_event, check_text,
    decision_id, proto_timestamp,
};
use crate::pipeline::screen::Snapshot;
use crate::pipeline::verdict::Verdict;
use crate::proto::{self, ReasonCode};
use crate::reassembly::{Added, ConcatKey, Incomplete, PartIn, Whole, part_segments};

impl Screener {
    /// Screens one part of a long message: held until the message is complete, then the whole.
    pub(super) fn screen_part(
        &self,
        snap: &Snapshot,
        req: &proto::ScreenRequest,
        checked: &Checked<'_>,
        part: PartOf,
        now: Timestamp,
    ) -> Result<(proto::Decision, Persist), RequestError> {
        let key = ConcatKey {
            sender_port: checked.sender_port.to_owned(),
            msisdn: checked.msisdn,
            reference: part.reference,
        };
        let (coding, body) = checked.body.coded_bytes();
        let part_in = PartIn {
            seq: part.seq,
            total: part.total,
            message_id: checked.message_id,
            coding,
            body,
            text_hash: checked.text_hash,
        };
        let now_s = now.as_second();
        let timeout = i64::from(self.concat_timeout_secs);
        let mut persist = Persist::default();
        let added = if checked.dry_run {
            self.reassembly.peek(&key, part_in, now_s, timeout)
        } else {
            let (added, evicted) =
                self.reassembly
                    .add(key, part_in, now_s, timeout)
                    .map_err(|conflict| {
                        self.metrics.malformed("concat");
                        RequestError::ConcatConflict(conflict.0)
                    })?;
            if let Some(given_up) = evicted {
                self.give_up(snap, given_up, now, &mut persist);
            }
            added
        };
        let mut decision = match added {
            Added::Pending { deadline } => {
                let detail = format!(
                    "part {} of {} (reference {}) is in; the message is screened whole when every \
                     part is, and refused if one is missing at the deadline",
                    part.seq, part.total, part.reference
                );
                self.hold_part(snap, checked, deadline, detail, now)
            }
            Added::Busy { until } => {
                let detail = format!(
                    "reference {}: the whole message is being screened or is held",
                    part.reference
                );
                self.hold_part(snap, checked, until, detail, now)
            }
            Added::Complete(whole) => {
                self.screen_whole(snap, req, checked, whole, now, &mut persist)
            }
            Added::Expired(given_up) => self.give_up(snap, given_up, now, &mut persist),
        };
        if decision.message_id != checked.message_id {
            checked.message_id.clone_into(&mut decision.message_id);
        }
        self.metrics
            .concat_parts_pending
            .set(self.reassembly.pending_parts() as f64);
        Ok((decision, persist))
    }

    /// HOLD CONCAT_PENDING for one part, kept until `until` so a retry gets the same answer.
    fn hold_part(
        &self,
        snap: &Snapshot,
        checked: &Checked<'_>,
        until: i64,
        detail: String,
        now: Timestamp,
    ) -> proto::Decision {
        let (coding, body) = checked.body.coded_bytes();
        self.metrics
            .decision(Verdict::Hold, Some(ReasonCode::ReasonConcatPending), None);
        let decision = proto::Decision {
            message_id: checked.message_id.to_owned(),
            verdict: proto::Verdict::Hold as i32,
            reasons: vec![proto::Reason {
                code: ReasonCode::ReasonConcatPending as i32,
                detail,
            }],
            hold_until: Some(proto_timestamp(
                Timestamp::from_second(until).unwrap_or(now),
            )),
            decision_id: if checked.dry_run {
                String::new()
            } else {
                decision_id(now)
            },
            segments: part_segments(coding, body),
            smpp_status: snap.policy.smpp_status[ReasonCode::ReasonConcatPending as usize],
            ..Default::default()
        };
        if checked.dry_run {
            return decision;
        }
        // Not audited: the whole message's decision is, naming every part.
        self.keep(
            snap,
            checked.sender_port,
            checked.msisdn,
            &[(checked.message_id, checked.text_hash)],
            decision,
            &DecisionFacts::default(),
            now,
            &mut Persist::default(),
        )
    }

    /// Screens a complete message once, for all its parts.
    fn screen_whole(
        &self,
        snap: &Snapshot,
        req: &proto::ScreenRequest,
        checked: &Checked<'_>,
        whole: Whole,
        now: Timestamp,
        persist: &mut Persist,
    ) -> proto::Decision {
        let parts: Vec<(&str, u64)> = whole
            .parts
            .iter()
            .map(|p| (p.message_id.as_str(), p.text_hash))
            .collect();
        let checked_text = match &whole.text {
            Ok(text) => check_text(text, snap.policy.max_text_chars).map(|()| text.as_str()),
            Err(e) => Err(RequestError::Payload(e.clone())),
        };
        let audit_request = |text: &str| proto::ScreenRequest {
            message_id: parts.first().map_or("", |p| p.0).to_owned(),
            text: text.to_owned(),
            concat: Some(proto::Concat {
                reference: whole.key.reference,
                total: u32::from(whole.total),
                seq: 0,
            }),
            raw_payload: Vec::new(),
            udhi: false,
            ..req.clone()
        };
        let decision = match checked_text {
            Ok(text) => {
                let (decision, screened) = self.screen_text(
                    snap,
                    checked,
                    text,
                    Some(whole.segments),
                    &parts,
                    || audit_request(text),
                    now,
                );
                persist.idempotency.extend(screened.idempotency);
                persist.audit.extend(screened.audit);
                decision
            }
            Err(e) => {
                // Each part was well-formed alone, so this is a decision on the whole message
                // (every part ends with it), not an error to the one request that completed it.
                self.metrics.malformed(e.field());
                let mut decision = self.malformed_decision(req, &e);
                decision.part_message_ids = parts.iter().map(|p| p.0.to_owned()).collect();
                decision.segments = whole.segments;
                if checked.dry_run {
                    return decision;
                }
                decision.decision_id = decision_id(now);
                let facts = DecisionFacts::default();
                let evidence = whole.text.as_deref().unwrap_or_default();
                persist.audit.push(audit_event(
                    audit_request(evidence),
                    checked.msisdn,
                    &decision,
                    &facts,
                    now,
                ));
                self.keep(
                    snap,
                    checked.sender_port,
                    checked.msisdn,
                    &parts,
                    decision,
                    &facts,
                    now,
                    persist,
                )
            }
        };
        if checked.dry_run {
            return decision;
        }
        if decision.verdict == proto::Verdict::Hold as i32 {
            let until = decision
                .hold_until
                .as_ref()
                .map_or(now.as_second(), |t| t.seconds);
            self.reassembly.hold(&whole.key, until);
        } else {
            self.reassembly.finish(&whole.key);
            self.metrics.concat_completed.increment(1);
        }
        decision
    }

    /// REJECT CONCAT_INCOMPLETE for every part received of a message given up; audited with what
    /// the parts said.
    fn give_up(
        &self,
        snap: &Snapshot,
        given_up: Incomplete,
        now: Timestamp,
        persist: &mut Persist,
    ) -> proto::Decision {
        let received = given_up
            .parts
            .iter()
            .map(|p| p.seq.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let key = &given_up.key;
        let detail = if given_up.evicted {
            self.metrics.concat_evicted.increment(1);
            format!(
                "reference {}: parts {received} of {} were in when the cap on pending parts \
                 (concat.max_pending_parts) gave the message up",
                key.reference, given_up.total
            )
        } else {
            self.metrics.concat_incomplete.increment(1);
            format!(
                "reference {}: only parts {received} of {} were in at the deadline",
                key.reference, given_up.total
            )
        };
        self.metrics.decision(
            Verdict::Reject,
            Some(ReasonCode::ReasonConcatIncomplete),
            None,
        );
        let parts: Vec<(&str, u64)> = given_up
            .parts
            .iter()
            .map(|p| (p.message_id.as_str(), p.text_hash))
            .collect();
        let first = parts.first().map_or("", |p| p.0).to_owned();
        let decision = proto::Decision {
            message_id: first.clone(),
            verdict: proto::Verdict::Reject as i32,
            reasons: vec![proto::Reason {
                code: ReasonCode::ReasonConcatIncomplete as i32,
                detail,
            }],
            decision_id: decision_id(now),
            smpp_status: snap.policy.smpp_status[ReasonCode::ReasonConcatIncomplete as usize],
            part_message_ids: parts.iter().map(|p| p.0.to_owned()).collect(),
            ..Default::default()
        };
        let facts = DecisionFacts::default();
        let request = proto::ScreenRequest {
            message_id: first,
            sender_port: key.sender_port.clone(),
            msisdn: key.msisdn.to_string(),
            text: given_up.evidence.clone(),
            concat: Some(proto::Concat {
                reference: key.reference,
                total: u32::from(given_up.total),
                seq: 0,
            }),
            ..Default::default()
        };
        persist
            .audit
            .push(audit_event(request, key.msisdn, &decision, &facts, now));
        self.keep(
            snap,
            &key.sender_port,
            key.msisdn,
            &parts,
            decision,
            &facts,
            now,
            persist,
        )
    }

    /// Ends the long messages whose deadline passed without every part (the sweeper calls this;
    /// a part arriving late ends its message the same way).
    pub fn expire_long_messages(&self) -> Persist {
        let snap = self.snapshot.load();
        let now = self.clock.now();
        let mut persist = Persist::default();
        let timeout = i64::from(self.concat_timeout_secs);
        for given_up in self.reassembly.expire(now.as_second(), timeout) {
            self.give_up(&snap, given_up, now, &mut persist);
        }
        self.metrics
            .concat_parts_pending
            .set(self.reassembly.pending_parts() as f64);
        persist
    }
}
