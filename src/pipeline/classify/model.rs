//! The seam for a trained content model (hashed character n-grams, the classifier issue). Rules
//! catch what someone wrote a keyword for; a model generalises to the next campaign. It runs after
//! the rules, sees their symbols and adds its evidence to the same `Classification`, so policy and
//! the explanation stay in one place.

use crate::pipeline::classify::Classification;
use crate::pipeline::normalize::NormalizedText;

pub trait ContentModel: Send + Sync + 'static {
    /// Name and version, reported with decisions and metrics.
    fn version(&self) -> &str;

    /// Refines the rules' conclusion in place: adds log-odds to `spam_logit` (and recomputes
    /// `spam_score`), adjusts `category_scores` and `category`, and may push model symbols.
    /// Synchronous and allocation-free on the hot path, like the rules.
    fn refine(&self, norm: &NormalizedText, class: &mut Classification);
}
