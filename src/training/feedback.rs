//! Operators' corrections (Operations.Feedback) as training examples. The daemon commits each
//! correction to the audit chain with the text of the decision it corrects; `train --feedback`
//! reads them from a stopped daemon's data dir (read-only) or a running daemon (Operations.
//! ListFeedback) and adds one example per corrected decision — the latest correction wins, a
//! decision without stored text (VERIFICATION, whose text is never kept) teaches nothing.

use std::collections::BTreeMap;
use std::path::Path;

use tokio_stream::StreamExt as _;

use super::Example;
use super::labels::{self, Targets};
use crate::domain::Category;
use crate::proto;
use crate::store::event::Event;

/// Operators' corrections are few and deliberate: each counts as many times as a port row.
const FEEDBACK_REPEATS: u8 = labels::PORT_REPEATS;

/// One correction as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub decision_id: String,
    pub category: Option<Category>,
    pub spam: bool,
    pub text: String,
}

/// What `load` found: the examples, and how many corrections taught nothing (no stored text).
pub struct Loaded {
    pub examples: Vec<Example>,
    pub without_text: usize,
}

pub fn load(data_dir: Option<&Path>, target: Option<&str>) -> Result<Loaded, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("--feedback: cannot start a runtime: {e}"))?;
    let corrections = runtime.block_on(async {
        match data_dir {
            Some(dir) => from_data_dir(dir).await,
            None => from_daemon(target.unwrap_or(crate::cli::DEFAULT_TARGET)).await,
        }
    })?;
    Ok(examples(corrections))
}

async fn from_data_dir(dir: &Path) -> Result<Vec<Correction>, String> {
    let pool = crate::store::open_read_only(dir)
        .await
        .map_err(|e| format!("--data-dir: {e}"))?;
    let events = crate::store::feedback_events(&pool, i64::MIN).await;
    pool.close().await;
    let events = events.map_err(|e| format!("--data-dir: {e}"))?;
    Ok(events
        .into_iter()
        .filter_map(|e| match e.event {
            Some(Event::Feedback(f)) => Some(Correction {
                decision_id: f.decision_id,
                category: Category::ALL.into_iter().find(|c| c.as_str() == f.category),
                spam: f.spam,
                text: f.text,
            }),
            _ => None,
        })
        .collect())
}

async fn from_daemon(target: &str) -> Result<Vec<Correction>, String> {
    let channel = crate::admin::connect(target)
        .await
        .map_err(|e| e.to_string())?;
    let mut client = proto::operations_client::OperationsClient::new(channel);
    let rpc_error =
        |s: tonic::Status| format!("Operations.ListFeedback: {:?}: {}", s.code(), s.message());
    let mut stream = client
        .list_feedback(proto::FeedbackQuery::default())
        .await
        .map_err(rpc_error)?
        .into_inner();
    let mut out = Vec::new();
    while let Some(record) = stream.next().await {
        let record = record.map_err(rpc_error)?;
        let Some(f) = record.feedback else { continue };
        out.push(Correction {
            decision_id: f.decision_id,
            category: crate::ingress::grpc::convert::category_from_proto(f.category),
            spam: f.spam,
            text: record.text,
        });
    }
    Ok(out)
}

/// One example per decision, from its latest correction (the input is oldest first).
pub fn examples(corrections: Vec<Correction>) -> Loaded {
    let mut latest: BTreeMap<String, Correction> = BTreeMap::new();
    for c in corrections {
        latest.insert(c.decision_id.clone(), c);
    }
    let mut without_text = 0;
    let mut examples = Vec::new();
    for c in latest.into_values() {
        if c.text.trim().is_empty() {
            without_text += 1;
            continue;
        }
        // The category's own targets (a port row), with the operator's spam verdict over the one
        // the category implies: "this MARKETING message was spam" is a correction worth keeping.
        let targets = match c.category.and_then(|cat| labels::targets(cat.as_str())) {
            Some(t) => Targets {
                spam: Some(c.spam),
                repeats: FEEDBACK_REPEATS,
                ..t
            },
            None => Targets {
                spam: Some(c.spam),
                category: None,
                other: None,
                repeats: FEEDBACK_REPEATS,
            },
        };
        examples.push(Example {
            text: c.text,
            targets,
        });
    }
    Loaded {
        examples,
        without_text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, category: Option<Category>, spam: bool, text: &str) -> Correction {
        Correction {
            decision_id: id.into(),
            category,
            spam,
            text: text.into(),
        }
    }

    #[test]
    fn latest_correction_per_decision_wins_and_textless_ones_are_counted() {
        let loaded = examples(vec![
            c("d1", Some(Category::Marketing), false, "店庆全场五折"),
            c("d2", None, true, "加微信领补贴"),
            c("d1", Some(Category::Marketing), true, "店庆全场五折"),
            c("d3", Some(Category::Verification), false, ""),
        ]);
        assert_eq!(loaded.without_text, 1);
        assert_eq!(loaded.examples.len(), 2);
        let d1 = &loaded.examples[0];
        assert_eq!(d1.text, "店庆全场五折");
        assert_eq!(d1.targets.spam, Some(true));
        assert_eq!(d1.targets.category, Some(Category::Marketing));
        assert_eq!(d1.targets.repeats, FEEDBACK_REPEATS);
        let d2 = &loaded.examples[1];
        assert_eq!((d2.targets.spam, d2.targets.category), (Some(true), None));
    }
}
