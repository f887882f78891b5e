//! How the labels of each data set map onto the model's heads. One model covers every label set:
//! a row trains the head of its own label space and, where its label implies one, the spam head
//! and the serving category head (a fake-base-station `FR:Phishing(Bank)` row is also spam and
//! FRAUD_SUSPECT; a port `VERIFICATION` row is also ham). The model card lists this table.

use crate::domain::Category;
use crate::pipeline::classify::model::{CATEGORY_HEAD, HAM, SPAM, SPAM_HEAD};

/// The head of the fake-base-station categories (Zhang et al., CCS 2020).
pub const FBS_HEAD: &str = "fbs";

/// What one training row teaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// Spam head: true = spam, false = ham.
    pub spam: Option<bool>,
    /// Category head.
    pub category: Option<Category>,
    /// Another head and its class label (the FBS categories).
    pub other: Option<(&'static str, &'static str)>,
    /// Times the row is seen per epoch.
    pub repeats: u8,
}

/// Port traffic (rows labeled with API.md categories) is the domain Portcullis serves, but the
/// smallest part of the data: each such row counts this many times, so the spam head learns what
/// legitimate 106-port messages look like against ~14,000 spam rows from other channels.
pub const PORT_REPEATS: u8 = 3;

/// The fake-base-station labels and the serving category each stands for (`None`: no category
/// follows from it; the set's "Other" holds uncategorised messages, some of them ordinary notices).
pub const FBS_LABELS: [(&str, Option<Category>); 14] = [
    ("AD:Loan", Some(Category::LoanMarketing)),
    ("AD:Network_service", Some(Category::Marketing)),
    ("AD:Other", Some(Category::Marketing)),
    ("AD:Real_estate", Some(Category::Marketing)),
    ("AD:Retail", Some(Category::Marketing)),
    ("FR:Financial", Some(Category::FraudSuspect)),
    ("FR:Other", Some(Category::FraudSuspect)),
    ("FR:Phishing(Bank)", Some(Category::FraudSuspect)),
    ("FR:Phishing(Other)", Some(Category::FraudSuspect)),
    ("IL:Escort_service", Some(Category::Illegal)),
    ("IL:Fake_ID_and_invoice", Some(Category::Illegal)),
    ("IL:Gambling", Some(Category::Illegal)),
    ("IL:Political_propaganda", Some(Category::Illegal)),
    ("Other", None),
];

/// The targets of a label, or None for a label no head knows.
pub fn targets(label: &str) -> Option<Targets> {
    if label == SPAM || label == HAM {
        return Some(Targets {
            spam: Some(label == SPAM),
            category: None,
            other: None,
            repeats: 1,
        });
    }
    if let Some(category) = Category::ALL.into_iter().find(|c| c.as_str() == label) {
        return Some(Targets {
            spam: Some(matches!(
                category,
                Category::FraudSuspect | Category::Illegal
            )),
            category: Some(category),
            other: None,
            repeats: PORT_REPEATS,
        });
    }
    FBS_LABELS
        .iter()
        .find(|(l, _)| *l == label)
        .map(|(l, category)| Targets {
            spam: Some(true),
            category: *category,
            other: Some((FBS_HEAD, l)),
            repeats: 1,
        })
}

/// The head a file label is scored in by `eval` (its own label space).
pub fn head_of(label: &str) -> Option<&'static str> {
    let t = targets(label)?;
    Some(match t.other {
        Some((head, _)) => head,
        None if t.category.is_some() => CATEGORY_HEAD,
        None => SPAM_HEAD,
    })
}

/// Every label a head can have, in column order.
pub fn head_labels(head: &str) -> Vec<String> {
    match head {
        SPAM_HEAD => vec![HAM.to_owned(), SPAM.to_owned()],
        CATEGORY_HEAD => Category::ALL
            .iter()
            .map(|c| c.as_str().to_owned())
            .collect(),
        FBS_HEAD => FBS_LABELS.iter().map(|(l, _)| (*l).to_owned()).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_lands_in_the_head_that_lists_it() {
        for head in [SPAM_HEAD, CATEGORY_HEAD, FBS_HEAD] {
            for label in head_labels(head) {
                assert_eq!(head_of(&label), Some(head), "{label}");
            }
        }
        assert_eq!(targets("nonsense"), None);
        let fraud = targets("FR:Phishing(Bank)").unwrap();
        assert_eq!(fraud.spam, Some(true));
        assert_eq!(fraud.category, Some(Category::FraudSuspect));
        assert_eq!(targets("VERIFICATION").unwrap().spam, Some(false));
    }
}
