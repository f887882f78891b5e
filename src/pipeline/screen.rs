//! Runs the stages in order for one message. Checks are cheapest-first; the first hard refusal does
//! not stop the others, because every reason found is reported (ARCHITECTURE.md §2). Counters that
//! a release consumes (frequency, duplicates) are taken atomically at the end, and only on RELEASE.

use std::sync::Arc;

use jiff::Timestamp;

use crate::domain::{Category, Msisdn, stable_hash64};
use crate::pipeline::classify::fingerprint::CampaignIndex;
use crate::pipeline::classify::model::ServingModel;
use crate::pipeline::classify::rules::RuleSet;
use crate::pipeline::classify::{self, Classification};
use crate::pipeline::normalize::{NormalizedText, Normalizer};
use crate::pipeline::policy::duplicate::DuplicateWindow;
use crate::pipeline::policy::frequency::FrequencyCounter;
use crate::pipeline::policy::{PolicyConfig, consent, content, optout, quiet_hours, sender};
use crate::pipeline::segments::Segments;
use crate::pipeline::verdict::{self, Finding, Outcome, Verdict};
use crate::proto::ReasonCode;
use crate::region::{Region, RegionTable};
use crate::registry::SubscriberRegistry;
use crate::registry::senders::{Priority, Sender, SenderRegistry};
use crate::throttle::quota::PortQuotas;
use crate::throttle::region::RegionThrottle;

/// Everything a reload replaces at once: the immutable configuration state screening reads.
pub struct Snapshot {
    /// Increases with every successful reload.
    pub generation: u64,
    pub policy: PolicyConfig,
    pub senders: SenderRegistry,
    pub rules: RuleSet,
    pub normalizer: Normalizer,
    pub regions: Arc<RegionTable>,
    /// The trained content model bound to `rules`, when one is configured.
    pub model: Option<ServingModel>,
}

/// The mutable state screening reads and (on release) updates.
pub struct LiveState {
    pub registry: Arc<dyn SubscriberRegistry>,
    pub frequency: FrequencyCounter,
    pub duplicates: DuplicateWindow,
    pub throttle: Arc<RegionThrottle>,
    pub quotas: PortQuotas,
    /// Complained campaigns (fingerprints), shared with the Complaints service.
    pub campaigns: Arc<CampaignIndex>,
}

impl LiveState {
    pub fn new(registry: Arc<dyn SubscriberRegistry>, throttle: Arc<RegionThrottle>) -> LiveState {
        let quotas = PortQuotas::new(throttle.clock());
        LiveState {
            registry,
            frequency: FrequencyCounter::default(),
            duplicates: DuplicateWindow::default(),
            throttle,
            quotas,
            campaigns: Arc::new(CampaignIndex::default()),
        }
    }
}

/// One message after ingress validation.
#[derive(Debug, Clone, Copy)]
pub struct Submission<'a> {
    pub message_id: &'a str,
    pub sender_port: &'a str,
    pub msisdn: Msisdn,
    pub text: &'a str,
    /// Decide and explain; change no counter.
    pub dry_run: bool,
    /// The segments billed when they are not the text's own count: a raw SMPP payload's, or the
    /// sum over a reassembled message's parts.
    pub segments: Option<u32>,
}

/// Buffers reused from message to message (one per worker thread).
#[derive(Debug, Default)]
pub struct Scratch {
    pub norm: NormalizedText,
    pub class: Classification,
    pub findings: Vec<Finding>,
}

/// The outcome of screening one message; `findings` (in precedence order, deciding first) and the
/// symbols stay in the `Scratch` it was screened with.
#[derive(Debug, Clone)]
pub struct Screened<'s> {
    pub outcome: Outcome,
    /// None only for emergency senders, which are released without content scoring.
    pub category: Option<Category>,
    pub sender: Option<&'s Arc<Sender>>,
    pub region: Option<Region<'s>>,
    pub consent_id: Option<Arc<str>>,
    pub segments: Segments,
    pub smpp_status: u32,
    pub emergency: bool,
    /// The duplicate-detection key of the normalized text (kept with the idempotency record).
    pub dup_hash: u64,
    /// The campaign fingerprint (SimHash) of the text; complaints about this message attach to it.
    pub fingerprint: u128,
}

pub fn screen<'s>(
    snap: &'s Snapshot,
    live: &LiveState,
    sub: &Submission<'_>,
    now: Timestamp,
    scratch: &mut Scratch,
) -> Screened<'s> {
    let cfg = &snap.policy;
    scratch.findings.clear();
    snap.normalizer.normalize_into(sub.text, &mut scratch.norm);
    let sender = snap.senders.lookup(sub.sender_port);
    let region = snap.regions.lookup(sub.msisdn.prefix7());
    let mut screened = Screened {
        outcome: Outcome {
            verdict: Verdict::Release,
            monitored_verdict: None,
            hold_until: None,
            deciding: None,
        },
        category: None,
        sender,
        region,
        consent_id: None,
        segments: match sub.segments {
            Some(count) => Segments {
                count,
                ..scratch.norm.segments
            },
            None => scratch.norm.segments,
        },
        smpp_status: 0,
        emergency: false,
        dup_hash: 0,
        fingerprint: 0,
    };
    if sender.is_some_and(|s| s.priority == Priority::Emergency) {
        scratch.class = Classification::default();
        screened.emergency = true;
        return screened;
    }

    classify::classify(
        &snap.rules,
        snap.model.as_ref(),
        &scratch.norm,
        &mut scratch.class,
    );
    screened.fingerprint = scratch.class.fingerprint;
    let fp = &cfg.fingerprint;
    if live
        .campaigns
        .is_complained(screened.fingerprint, fp.max_distance)
    {
        scratch.class.mark_complained_campaign(fp.spam);
    }
    let category = scratch.class.category.unwrap_or(Category::Service);
    screened.category = Some(category);
    let findings = &mut scratch.findings;
    let norm = &scratch.norm;

    match sender {
        None => findings.extend(sender::check_registered(None, sub.sender_port)),
        Some(s) => {
            findings.extend(sender::check_signature(s, norm));
            findings.extend(sender::check_category_allowed(s, category));
        }
    }
    findings.extend(content::check_category_verdict(category));
    if let Some(s) = sender {
        let registry = live.registry.as_ref();
        findings.extend(optout::check_opt_out(
            registry,
            sub.msisdn,
            &s.enterprise,
            category,
            cfg,
        ));
        match consent::check_consent(registry, sub.msisdn, &s.enterprise, category, now, cfg) {
            Ok(id) => screened.consent_id = id,
            Err(f) => findings.push(f),
        }
    }
    content::check_commercial_identity(category, norm, cfg, findings);
    findings.extend(content::check_spam_score(&scratch.class, cfg));

    let text_hash = duplicate_key(norm);
    screened.dup_hash = text_hash;
    let now_s = now.as_second();
    let day = quiet_hours::local_day(now, cfg);
    let counts_duplicates = category != Category::Verification;
    let counts_frequency = cfg.commercial.contains(category);
    if let Some(s) = sender {
        if counts_duplicates
            && live.duplicates.is_duplicate(
                sub.msisdn,
                &s.enterprise,
                text_hash,
                now_s,
                cfg.duplicate_window_secs,
            )
        {
            findings.push(duplicate_finding(cfg));
        }
        if counts_frequency
            && live.frequency.would_exceed(
                sub.msisdn,
                &s.enterprise,
                day,
                cfg.frequency_cap_per_day,
            )
        {
            findings.push(frequency_finding(cfg));
        }
    }
    findings.extend(quiet_hours::check_quiet_hours(category, now, cfg));
    if let (Some(s), Some(r)) = (sender, region) {
        findings.extend(live.throttle.check(
            r.province,
            &s.enterprise,
            category,
            counts_frequency,
            now,
        ));
    }
    if let Some(s) = sender {
        findings.extend(
            live.quotas
                .check(&s.port, s.quota, screened.segments.count, now),
        );
    }

    let monitored = |code: ReasonCode| cfg.monitor_all || cfg.monitored[code as usize];
    let mut outcome = verdict::decide(findings, monitored);

    // Take the counters a release consumes; losing a race here turns the release into a refusal.
    if outcome.verdict == Verdict::Release && !sub.dry_run {
        if let Some(s) = sender {
            let mut lost_race = false;
            if counts_frequency
                && !live.frequency.try_count(
                    sub.msisdn,
                    &s.enterprise,
                    day,
                    cfg.frequency_cap_per_day,
                )
            {
                findings.push(frequency_finding(cfg));
                lost_race = true;
            } else if counts_duplicates
                && !live.duplicates.try_remember(
                    sub.msisdn,
                    &s.enterprise,
                    text_hash,
                    now_s,
                    cfg.duplicate_window_secs,
                )
            {
                findings.push(duplicate_finding(cfg));
                lost_race = true;
            }
            if lost_race {
                outcome = verdict::decide(findings, monitored);
            } else if counts_frequency && let Some(r) = region {
                live.throttle.record_release(r.province, &s.enterprise, now);
            }
        }
    }

    // The reason that decided the enforced verdict goes first; the rest keep precedence order.
    let enforced_first = findings.iter().position(|f| {
        !monitored(f.code)
            && match outcome.verdict {
                Verdict::Reject => !verdict::is_hold(f.code),
                Verdict::Hold => verdict::is_hold(f.code),
                Verdict::Release => false,
            }
    });
    if let Some(i) = enforced_first {
        findings[..=i].rotate_right(1);
        screened.smpp_status = cfg.smpp_status[findings[0].code as usize];
    }
    outcome.deciding = findings.first().map(|f| f.code);
    screened.outcome = outcome;
    screened
}

/// The duplicate key: the normalized body and signature, so spacing or width tricks do not make a
/// resend look new.
fn duplicate_key(norm: &NormalizedText) -> u64 {
    let body = stable_hash64(norm.text.as_bytes());
    let signature = norm
        .signature
        .as_deref()
        .map_or(0, |s| stable_hash64(s.as_bytes()));
    body ^ signature.rotate_left(17)
}

fn duplicate_finding(cfg: &PolicyConfig) -> Finding {
    Finding::refuse(
        ReasonCode::ReasonDuplicate,
        format!(
            "same text already released to this subscriber within {} h",
            cfg.duplicate_window_secs / 3600
        ),
    )
}

fn frequency_finding(cfg: &PolicyConfig) -> Finding {
    Finding::refuse(
        ReasonCode::ReasonFrequencyCap,
        format!(
            "{} commercial messages from this enterprise today already",
            cfg.frequency_cap_per_day
        ),
    )
}
