//! Named content rules (symbols with weights) loaded from `config/rules.toml`.
//!
//! A rule has exactly one matcher: a keyword list (inline or a file), a regex, a normalizer feature
//! (`url_shortener`, `obfuscated_wechat`, ...) or a combination of rules defined above it (`all` /
//! `any`). A rule that fires adds its `weight` to its category's evidence and its `spam` to the spam
//! logit; the symbols that fired are the explanation a Decision carries (ARCHITECTURE.md §2).
//!
//! Matching happens on `NormalizedText::text`, the canonical body **without** the signature: the
//! signature is checked against the sender registry by policy, not by content rules. The canonical
//! text has ASCII lowercased, so keywords are folded the same way at load (full-width ASCII to
//! half-width, then ASCII lowercase) and regexes are written in lowercase.
//!
//! Hot path: every keyword of every rule sits in ONE Aho-Corasick automaton searched with overlapping
//! matches, so a short keyword inside a longer one, or the same keyword in two rules, still counts
//! for each rule; a keyword maps back to the list of rules that contain it. The regex rules run as
//! one multi-pattern search (a `regex_automata::meta::Regex` of all of them, every pattern that matches
//! anywhere reported into a per-thread `PatternSet`): with 12 regexes one pass measured about 40%
//! cheaper than twelve `is_match` scans (with 7 it was not; benches/README.md). Each rule fires at
//! most once per message. `classify` allocates nothing once the output vectors have capacity.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::Regex;
use serde::Deserialize;

use super::{Classification, SymbolId};
use crate::domain::Category;
use crate::pipeline::normalize::{NormalizedText, flags};

/// Upper bound on rules in one file: the per-message "fired" set is a fixed bit array on the stack.
pub const MAX_RULES: usize = 2048;
const FIRED_WORDS: usize = MAX_RULES / 64;

/// Category precedence when evidence ties, most severe first (a tie must never hide fraud).
const SEVERITY_ORDER: [Category; 7] = [
    Category::Illegal,
    Category::FraudSuspect,
    Category::LoanMarketing,
    Category::Collection,
    Category::Marketing,
    Category::Verification,
    Category::Service,
];

const EMBEDDED_RULES: &str = include_str!("../../../config/rules.toml");

/// Keyword files the embedded rules may reference, by their path relative to `config/`.
/// `embedded_keyword_table_lists_every_file` keeps this table in step with `config/keywords/`.
const EMBEDDED_KEYWORD_FILES: &[(&str, &str)] = &[
    (
        "keywords/account_activity.txt",
        include_str!("../../../config/keywords/account_activity.txt"),
    ),
    (
        "keywords/collection.txt",
        include_str!("../../../config/keywords/collection.txt"),
    ),
    (
        "keywords/escort.txt",
        include_str!("../../../config/keywords/escort.txt"),
    ),
    (
        "keywords/fake_documents.txt",
        include_str!("../../../config/keywords/fake_documents.txt"),
    ),
    (
        "keywords/fraud_account_alert.txt",
        include_str!("../../../config/keywords/fraud_account_alert.txt"),
    ),
    (
        "keywords/gambling.txt",
        include_str!("../../../config/keywords/gambling.txt"),
    ),
    (
        "keywords/loan.txt",
        include_str!("../../../config/keywords/loan.txt"),
    ),
    (
        "keywords/marketing.txt",
        include_str!("../../../config/keywords/marketing.txt"),
    ),
];

fn default_spam_bias() -> f64 {
    -3.0
}

fn default_min_category_score() -> f64 {
    1.0
}

/// The parsed `rules.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesFile {
    /// Logit offset: `spam_score = sigmoid(spam_bias + Σ spam of the counting rules that fired)`.
    #[serde(default = "default_spam_bias")]
    pub spam_bias: f64,
    /// A category wins only with at least this much evidence; otherwise the message is SERVICE.
    #[serde(default = "default_min_category_score")]
    pub min_category_score: f64,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleSpec>,
}

/// One `[[rule]]` table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// UPPER_SNAKE, unique in the file: the name reported in `Decision.symbols`.
    pub symbol: String,
    /// Free text for people reading the file.
    #[serde(default)]
    pub description: Option<String>,
    /// The category this rule is evidence for (API.md names without the prefix, e.g. "LOAN_MARKETING").
    #[serde(default)]
    pub category: Option<String>,
    /// Evidence for `category`; needs a category unless it is 0. May be negative (counter-evidence).
    #[serde(default)]
    pub weight: f64,
    /// Contribution to the spam logit; negative for content that is rarely spam (verification codes).
    #[serde(default)]
    pub spam: f64,
    /// Matcher: any of these substrings of the body.
    #[serde(default)]
    pub keywords: Option<Vec<String>>,
    /// Matcher: like `keywords`, one per line in a file relative to the rules file (`#` starts a
    /// comment line).
    #[serde(default)]
    pub keywords_file: Option<String>,
    /// Matcher: a regex (Rust `regex` syntax) searched in the body.
    #[serde(default)]
    pub regex: Option<String>,
    /// Matcher: a normalizer signal, see `Feature`.
    #[serde(default)]
    pub feature: Option<String>,
    /// Matcher (with `any`): every one of these rules, defined above this one, matched.
    #[serde(default)]
    pub all: Option<Vec<String>>,
    /// Matcher (with `all`): at least one of these rules, defined above this one, matched.
    #[serde(default)]
    pub any: Option<Vec<String>>,
    /// Monitor (shadow) mode: reported in `monitored_symbols`, counts for nothing. Combinations that
    /// name a monitored rule still see whether it matched.
    #[serde(default)]
    pub monitor: bool,
    /// What the rule matches is itself a way to pay someone (a fee demanded before money is paid
    /// out): the signed-message fraud gate, which spares signed messages that name no channel,
    /// does not spare one this rule fired on.
    #[serde(default)]
    pub channel: bool,
}

/// A problem in a rules file. `path` names the place (`rule[3].regex`, `rule[LOAN_PITCH].keywords_file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub path: String,
    pub message: String,
}

impl RuleError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> RuleError {
        RuleError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for RuleError {}

/// The normalizer signals a rule can test (`feature = "..."`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feature {
    HasUrl,
    UrlShortener,
    /// A link on a top-level domain phishing favours (`NormalizedText::abused_tld_urls`).
    UrlAbusedTld,
    /// The same in a signed message: a named brand linking to such a domain. One feature rather
    /// than a rule over a "has a signature" symbol, which the model would read on every port SMS.
    SignedUrlAbusedTld,
    HasPhone,
    /// A mobile number (11 digits starting with 1) among `phones`: a private contact, where
    /// enterprises give 400/95xxx hotlines.
    HasMobile,
    ZeroWidth,
    Fullwidth,
    ObfuscatedWechat,
    ObfuscatedQq,
    ObfuscatedDigits,
    SpacedOut,
    HasSignature,
    NoSignature,
    OptoutNotice,
    StrayBrackets,
    /// The normalizer read traditional characters as simplified (`flags::TRADITIONAL`).
    Traditional,
}

impl Feature {
    pub const ALL: [Feature; 17] = [
        Feature::HasUrl,
        Feature::UrlShortener,
        Feature::UrlAbusedTld,
        Feature::SignedUrlAbusedTld,
        Feature::HasPhone,
        Feature::HasMobile,
        Feature::ZeroWidth,
        Feature::Fullwidth,
        Feature::ObfuscatedWechat,
        Feature::ObfuscatedQq,
        Feature::ObfuscatedDigits,
        Feature::SpacedOut,
        Feature::HasSignature,
        Feature::NoSignature,
        Feature::OptoutNotice,
        Feature::StrayBrackets,
        Feature::Traditional,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Feature::HasUrl => "has_url",
            Feature::UrlShortener => "url_shortener",
            Feature::UrlAbusedTld => "url_abused_tld",
            Feature::SignedUrlAbusedTld => "signed_url_abused_tld",
            Feature::HasPhone => "has_phone",
            Feature::HasMobile => "has_mobile",
            Feature::ZeroWidth => "zero_width",
            Feature::Fullwidth => "fullwidth",
            Feature::ObfuscatedWechat => "obfuscated_wechat",
            Feature::ObfuscatedQq => "obfuscated_qq",
            Feature::ObfuscatedDigits => "obfuscated_digits",
            Feature::SpacedOut => "spaced_out",
            Feature::HasSignature => "has_signature",
            Feature::NoSignature => "no_signature",
            Feature::OptoutNotice => "optout_notice",
            Feature::StrayBrackets => "stray_brackets",
            Feature::Traditional => "traditional",
        }
    }

    pub fn parse(s: &str) -> Option<Feature> {
        Feature::ALL.into_iter().find(|f| f.as_str() == s)
    }

    fn test(self, norm: &NormalizedText) -> bool {
        match self {
            Feature::HasUrl => !norm.urls.is_empty(),
            Feature::UrlShortener => norm.shortened_urls > 0,
            Feature::UrlAbusedTld => norm.abused_tld_urls > 0,
            Feature::SignedUrlAbusedTld => norm.signature.is_some() && norm.abused_tld_urls > 0,
            Feature::HasPhone => !norm.phones.is_empty(),
            Feature::HasMobile => norm.phones.iter().any(|p| is_mobile_number(p)),
            Feature::ZeroWidth => norm.flags & flags::ZERO_WIDTH != 0,
            Feature::Fullwidth => norm.flags & flags::FULLWIDTH != 0,
            Feature::ObfuscatedWechat => norm.flags & flags::OBFUSCATED_WECHAT != 0,
            Feature::ObfuscatedQq => norm.flags & flags::OBFUSCATED_QQ != 0,
            Feature::ObfuscatedDigits => norm.flags & flags::OBFUSCATED_DIGITS != 0,
            Feature::SpacedOut => norm.flags & flags::SPACED_OUT != 0,
            Feature::HasSignature => norm.signature.is_some(),
            Feature::NoSignature => norm.signature.is_none(),
            Feature::OptoutNotice => norm.optout_notice,
            Feature::StrayBrackets => norm.stray_brackets,
            Feature::Traditional => norm.flags & flags::TRADITIONAL != 0,
        }
    }
}

/// `phones` holds digits only; a mainland mobile is `1[3-9]` + 9 digits (a `86` prefix tolerated).
fn is_mobile_number(digits: &str) -> bool {
    let national = digits
        .strip_prefix("86")
        .filter(|rest| rest.len() == 11)
        .unwrap_or(digits);
    let b = national.as_bytes();
    b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit)
}

/// One compiled rule: what it counts for, once its matcher fired.
#[derive(Debug, Clone)]
struct Rule {
    symbol: String,
    category: Option<Category>,
    weight: f32,
    spam: f64,
    monitor: bool,
    channel: bool,
}

/// `all`/`any` over earlier rules, evaluated in file order after the direct matchers.
#[derive(Debug, Clone)]
struct Combination {
    rule: u16,
    all: Box<[u16]>,
    any: Box<[u16]>,
}

/// The fixed-size set of rules that matched one message.
struct Fired([u64; FIRED_WORDS]);

impl Fired {
    #[inline]
    fn set(&mut self, rule: u16) {
        let i = usize::from(rule);
        self.0[i / 64] |= 1 << (i % 64);
    }

    #[inline]
    fn get(&self, rule: u16) -> bool {
        let i = usize::from(rule);
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
}

/// Where `keywords_file` paths are read from.
enum KeywordSource<'a> {
    Dir(&'a Path),
    Embedded(&'static [(&'static str, &'static str)]),
}

impl KeywordSource<'_> {
    fn read(&self, relative: &str) -> Result<String, String> {
        match self {
            KeywordSource::Dir(base) => {
                let path: PathBuf = base.join(relative);
                std::fs::read_to_string(&path).map_err(|e| {
                    format!(
                        "cannot read `{}`: {}",
                        path.display(),
                        lowercase_first(&e.to_string())
                    )
                })
            }
            KeywordSource::Embedded(table) => {
                let wanted = relative.trim_start_matches("./");
                table
                    .iter()
                    .find(|(name, _)| *name == wanted)
                    .map(|(_, contents)| (*contents).to_owned())
                    .ok_or_else(|| {
                        format!("cannot read `{relative}`: not among the embedded keyword files")
                    })
            }
        }
    }
}

/// Immutable and `Send + Sync`: built once per configuration snapshot and shared by every worker.
pub struct RuleSet {
    rules: Vec<Rule>,
    symbol_ids: HashMap<String, SymbolId>,
    spam_bias: f64,
    min_category_score: f32,
    /// Every distinct keyword of every keyword rule; `None` when no rule has keywords.
    keywords: Option<AhoCorasick>,
    /// For each automaton pattern, the rules that contain that keyword.
    keyword_rules: Vec<Box<[u16]>>,
    /// Every regex rule's pattern in one search; `None` when no rule has a regex.
    regexes: Option<RegexRules>,
    features: Vec<(u16, Feature)>,
    combinations: Vec<Combination>,
    /// `(rule_count + 63) / 64`: how many words of `Fired` carry rules.
    fired_words: usize,
    keyword_count: usize,
}

impl fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuleSet")
            .field("rules", &self.rules.len())
            .field("keywords", &self.keyword_count)
            .field(
                "regexes",
                &self.regexes.as_ref().map_or(0, |r| r.rules.len()),
            )
            .field("features", &self.features.len())
            .field("combinations", &self.combinations.len())
            .finish()
    }
}

impl RuleSet {
    /// Parse + validate + compile a rules file; keyword files are resolved next to it. Every problem
    /// is reported, not just the first.
    pub fn load(path: &Path) -> Result<RuleSet, Vec<RuleError>> {
        let toml = std::fs::read_to_string(path).map_err(|e| {
            vec![RuleError::new(
                path.display().to_string(),
                format!(
                    "cannot read rules file: {}",
                    lowercase_first(&e.to_string())
                ),
            )]
        })?;
        let base_dir = path.parent().unwrap_or_else(|| Path::new("."));
        RuleSet::from_toml_str(&toml, base_dir)
    }

    /// Like `load`, from text; `keywords_file` paths are relative to `base_dir`.
    pub fn from_toml_str(toml: &str, base_dir: &Path) -> Result<RuleSet, Vec<RuleError>> {
        RuleSet::build(toml, &KeywordSource::Dir(base_dir))
    }

    /// The default shipped in the binary (`config/rules.toml` and its keyword files), so the daemon
    /// runs with no files on disk.
    pub fn embedded() -> RuleSet {
        match RuleSet::build(
            EMBEDDED_RULES,
            &KeywordSource::Embedded(EMBEDDED_KEYWORD_FILES),
        ) {
            Ok(set) => set,
            Err(errors) => {
                let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
                panic!(
                    "the embedded config/rules.toml is invalid (a unit test guards this): {}",
                    listed.join("; ")
                )
            }
        }
    }

    fn build(toml: &str, source: &KeywordSource<'_>) -> Result<RuleSet, Vec<RuleError>> {
        let file: RulesFile = toml::from_str(toml).map_err(|e| vec![toml_error(toml, &e)])?;
        compile(&file, source)
    }

    /// Clears `out` and fills it for `norm`. `out.category` is always `Some` afterwards.
    pub fn classify(&self, norm: &NormalizedText, out: &mut Classification) {
        out.symbols.clear();
        out.monitored_symbols.clear();
        out.category_scores = [0.0; 7];
        out.names_channel = false;

        let text = norm.text.as_str();
        let mut fired = Fired([0; FIRED_WORDS]);

        if let Some(ac) = &self.keywords {
            for m in ac.find_overlapping_iter(text) {
                if let Some(rules) = self.keyword_rules.get(m.pattern().as_usize()) {
                    for &rule in rules.iter() {
                        fired.set(rule);
                    }
                }
            }
        }
        if let Some(regexes) = &self.regexes {
            regexes.fire(text, &mut fired);
        }
        for &(rule, feature) in &self.features {
            if feature.test(norm) {
                fired.set(rule);
            }
        }
        for c in &self.combinations {
            let all = c.all.iter().all(|r| fired.get(*r));
            let any = c.any.is_empty() || c.any.iter().any(|r| fired.get(*r));
            if all && any {
                fired.set(c.rule);
            }
        }

        let mut logit = self.spam_bias;
        for (w, &word) in fired.0[..self.fired_words].iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let Some(rule) = self.rules.get(i) else { break };
                // `compile` caps the rule count at MAX_RULES, far below u16::MAX.
                let id = SymbolId(i as u16);
                if rule.monitor {
                    out.monitored_symbols.push(id);
                    continue;
                }
                out.symbols.push(id);
                out.names_channel |= rule.channel;
                logit += rule.spam;
                if let Some(category) = rule.category {
                    out.category_scores[category.index()] += rule.weight;
                }
            }
        }

        out.category = Some(self.decide_category(&out.category_scores));
        out.spam_logit = logit;
        out.spam_score = 1.0 / (1.0 + (-logit).exp());
    }

    /// Highest evidence at or above `min_category_score`; ties go to the more severe category;
    /// SERVICE when nothing qualifies.
    pub fn decide_category(&self, scores: &[f32; 7]) -> Category {
        let mut best: Option<(Category, f32)> = None;
        for category in SEVERITY_ORDER {
            let score = scores[category.index()];
            if score >= self.min_category_score && best.is_none_or(|(_, s)| score > s) {
                best = Some((category, score));
            }
        }
        best.map_or(Category::Service, |(c, _)| c)
    }

    /// Takes back what the counting rules of `category` gave `out`: their evidence and their spam.
    /// Their symbols stay, as what the message says; the category is decided again.
    pub fn discount(&self, category: Category, out: &mut Classification) {
        let mut spam = 0.0;
        for id in &out.symbols {
            if let Some(rule) = self.rules.get(usize::from(id.0))
                && rule.category == Some(category)
            {
                spam += rule.spam;
            }
        }
        out.spam_logit -= spam;
        out.spam_score = 1.0 / (1.0 + (-out.spam_logit).exp());
        out.category_scores[category.index()] = 0.0;
        out.category = Some(self.decide_category(&out.category_scores));
    }

    /// The symbol's name; "" for an id this set never issued.
    pub fn symbol_name(&self, id: SymbolId) -> &str {
        self.rules
            .get(usize::from(id.0))
            .map_or("", |r| r.symbol.as_str())
    }

    /// The id of a symbol by name.
    pub fn symbol_id(&self, name: &str) -> Option<SymbolId> {
        self.symbol_ids.get(name).copied()
    }

    /// Symbols in this set: one per rule (ids are rule positions in the file).
    pub fn symbol_count(&self) -> usize {
        self.rules.len()
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Distinct keywords across all keyword rules (after folding).
    pub fn keyword_count(&self) -> usize {
        self.keyword_count
    }

    /// The category a symbol is evidence for, if any.
    pub fn symbol_category(&self, id: SymbolId) -> Option<Category> {
        self.rules.get(usize::from(id.0)).and_then(|r| r.category)
    }

    pub fn spam_bias(&self) -> f64 {
        self.spam_bias
    }
}

/// A TOML or schema error: place it at the `[[rule]]` table it falls in, when it falls in one.
fn toml_error(toml: &str, e: &toml::de::Error) -> RuleError {
    let message = one_line(e.message());
    let Some(span) = e.span() else {
        return RuleError::new("toml", message);
    };
    let before = toml.get(..span.start).unwrap_or(toml);
    let line = before.matches('\n').count() + 1;
    let rule_index = before
        .lines()
        .filter(|l| l.trim_start().starts_with("[[rule]]"))
        .count();
    let path = match rule_index {
        0 => "toml".to_owned(),
        n => format!("rule[{}]", n - 1),
    };
    RuleError::new(path, format!("line {line}: {message}"))
}

fn one_line(s: &str) -> String {
    let joined = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = joined.trim_end_matches('.');
    lowercase_first(trimmed)
}

fn lowercase_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c)
            if c.is_ascii_uppercase()
                && !chars.clone().next().is_some_and(|n| n.is_ascii_uppercase()) =>
        {
            let mut out = String::with_capacity(s.len());
            out.push(c.to_ascii_lowercase());
            out.push_str(chars.as_str());
            out
        }
        _ => s.to_owned(),
    }
}

fn is_upper_snake(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        && !s.ends_with('_')
        && !s.contains("__")
}

/// Fold a keyword the way normalize folds the body: full-width ASCII to half-width, traditional
/// characters to simplified, ASCII lowercase, trimmed. (The body keeps non-ASCII case, so only
/// ASCII is lowered.)
pub fn fold_keyword(raw: &str) -> String {
    raw.trim()
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => crate::pipeline::normalize::simplified(c),
        })
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Keywords from a file: one per line, blank lines and lines starting with `#` skipped.
fn parse_keyword_lines(contents: &str) -> Vec<String> {
    contents
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The regex rules' patterns, searched together; pattern `i` is rule `rules[i]`'s.
#[derive(Clone)]
struct RegexRules {
    search: regex_automata::meta::Regex,
    rules: Box<[u16]>,
}

thread_local! {
    /// Which patterns matched, reused by every message of this thread.
    static REGEX_HITS: std::cell::RefCell<regex_automata::PatternSet> =
        std::cell::RefCell::new(regex_automata::PatternSet::new(0));
}

impl RegexRules {
    /// One search of `regexes`' patterns (each already compiled alone, which names a bad one's rule).
    fn new(regexes: &[(u16, Regex)]) -> Result<RegexRules, String> {
        let patterns: Vec<&str> = regexes.iter().map(|(_, re)| re.as_str()).collect();
        // MatchKind::All, as `regex::RegexSet` builds it: with the default leftmost-first kind an
        // overlapping search stops reporting patterns after the first match (tested below).
        let search = regex_automata::meta::Regex::builder()
            .configure(
                regex_automata::meta::Config::new()
                    .match_kind(regex_automata::MatchKind::All)
                    .which_captures(regex_automata::nfa::thompson::WhichCaptures::None),
            )
            .build_many(&patterns)
            .map_err(|e| format!("the regex rules together: {}", one_line(&e.to_string())))?;
        Ok(RegexRules {
            search,
            rules: regexes.iter().map(|&(rule, _)| rule).collect(),
        })
    }

    /// Marks in `fired` every rule whose regex matches somewhere in `text`.
    fn fire(&self, text: &str, fired: &mut Fired) {
        REGEX_HITS.with_borrow_mut(|hits| {
            if hits.capacity() != self.rules.len() {
                *hits = regex_automata::PatternSet::new(self.rules.len());
            }
            hits.clear();
            self.search
                .which_overlapping_matches(&regex_automata::Input::new(text), hits);
            for pattern in hits.iter() {
                if let Some(&rule) = self.rules.get(pattern.as_usize()) {
                    fired.set(rule);
                }
            }
        });
    }
}

enum Matcher {
    Keywords(Vec<String>),
    Regex(Regex),
    Feature(Feature),
    Combination {
        all: Vec<u16>,
        any: Vec<u16>,
    },
    /// The matcher was missing or invalid; the error is already recorded.
    Invalid,
}

fn compile(file: &RulesFile, source: &KeywordSource<'_>) -> Result<RuleSet, Vec<RuleError>> {
    let mut errors = Vec::new();

    if !file.spam_bias.is_finite() {
        errors.push(RuleError::new("spam_bias", "must be a finite number"));
    }
    if !file.min_category_score.is_finite() || file.min_category_score < 0.0 {
        errors.push(RuleError::new(
            "min_category_score",
            "must be a finite number, at least 0",
        ));
    }
    if file.rules.len() > MAX_RULES {
        errors.push(RuleError::new(
            "rule",
            format!(
                "{} rules; at most {MAX_RULES} are supported",
                file.rules.len()
            ),
        ));
    }

    // Symbols first, so that `all`/`any` can refer to them and paths can name them.
    let mut first_index: HashMap<&str, usize> = HashMap::new();
    let mut paths = Vec::with_capacity(file.rules.len());
    for (i, spec) in file.rules.iter().enumerate() {
        let symbol = spec.symbol.as_str();
        let mut usable_name = true;
        if !is_upper_snake(symbol) {
            usable_name = false;
            errors.push(RuleError::new(
                format!("rule[{i}].symbol"),
                format!("`{symbol}` is not an UPPER_SNAKE name (A-Z, 0-9, single underscores, starting with a letter)"),
            ));
        } else if let Some(first) = first_index.get(symbol) {
            usable_name = false;
            errors.push(RuleError::new(
                format!("rule[{i}].symbol"),
                format!("duplicate symbol `{symbol}` (first defined at rule[{first}])"),
            ));
        } else {
            first_index.insert(symbol, i);
        }
        paths.push(if usable_name {
            format!("rule[{symbol}]")
        } else {
            format!("rule[{i}]")
        });
    }

    let mut rules = Vec::with_capacity(file.rules.len());
    let mut matchers = Vec::with_capacity(file.rules.len());
    for (i, spec) in file.rules.iter().enumerate() {
        let path = &paths[i];
        let category = match spec.category.as_deref() {
            None => None,
            Some(name) => match Category::parse(name) {
                Some(c) => Some(c),
                None => {
                    let known: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
                    errors.push(RuleError::new(
                        format!("{path}.category"),
                        format!(
                            "unknown category `{name}`; expected one of {}",
                            known.join(", ")
                        ),
                    ));
                    None
                }
            },
        };
        if !spec.weight.is_finite() {
            errors.push(RuleError::new(
                format!("{path}.weight"),
                "must be a finite number",
            ));
        } else if spec.weight != 0.0 && spec.category.is_none() {
            errors.push(RuleError::new(
                format!("{path}.weight"),
                "a weight needs a category to count for",
            ));
        }
        if !spec.spam.is_finite() {
            errors.push(RuleError::new(
                format!("{path}.spam"),
                "must be a finite number",
            ));
        }
        matchers.push(compile_matcher(
            spec,
            i,
            path,
            &first_index,
            source,
            &mut errors,
        ));
        rules.push(Rule {
            symbol: spec.symbol.clone(),
            category,
            weight: spec.weight as f32,
            spam: spec.spam,
            monitor: spec.monitor,
            channel: spec.channel,
        });
    }

    if !errors.is_empty() {
        return Err(errors);
    }

    // Assemble the automata. Rule indices fit in u16: MAX_RULES was checked above.
    let mut keyword_index: HashMap<String, usize> = HashMap::new();
    let mut patterns: Vec<String> = Vec::new();
    let mut keyword_rules: Vec<Vec<u16>> = Vec::new();
    let mut regexes = Vec::new();
    let mut features = Vec::new();
    let mut combinations = Vec::new();
    for (i, matcher) in matchers.into_iter().enumerate() {
        let rule = i as u16;
        match matcher {
            Matcher::Keywords(words) => {
                for word in words {
                    let slot = *keyword_index.entry(word.clone()).or_insert_with(|| {
                        patterns.push(word);
                        keyword_rules.push(Vec::new());
                        patterns.len() - 1
                    });
                    if keyword_rules[slot].last() != Some(&rule) {
                        keyword_rules[slot].push(rule);
                    }
                }
            }
            Matcher::Regex(re) => regexes.push((rule, re)),
            Matcher::Feature(f) => features.push((rule, f)),
            Matcher::Combination { all, any } => combinations.push(Combination {
                rule,
                all: all.into(),
                any: any.into(),
            }),
            Matcher::Invalid => {}
        }
    }

    let keywords = if patterns.is_empty() {
        None
    } else {
        // A contiguous NFA: measured faster than the DFA on ~800 CJK keywords (the DFA's 2.6 MB of
        // transitions miss the cache; the NFA's 150 KB do not).
        let built = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&patterns);
        match built {
            Ok(ac) => Some(ac),
            Err(e) => {
                return Err(vec![RuleError::new(
                    "rule",
                    format!("keyword automaton: {}", one_line(&e.to_string())),
                )]);
            }
        }
    };

    let regex_rules = if regexes.is_empty() {
        None
    } else {
        match RegexRules::new(&regexes) {
            Ok(r) => Some(r),
            Err(message) => return Err(vec![RuleError::new("rule", message)]),
        }
    };

    let symbol_ids = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.symbol.clone(), SymbolId(i as u16)))
        .collect();
    Ok(RuleSet {
        fired_words: rules.len().div_ceil(64),
        keyword_count: patterns.len(),
        rules,
        symbol_ids,
        spam_bias: file.spam_bias,
        min_category_score: file.min_category_score as f32,
        keywords,
        keyword_rules: keyword_rules
            .into_iter()
            .map(Vec::into_boxed_slice)
            .collect(),
        regexes: regex_rules,
        features,
        combinations,
    })
}

fn compile_matcher(
    spec: &RuleSpec,
    index: usize,
    path: &str,
    first_index: &HashMap<&str, usize>,
    source: &KeywordSource<'_>,
    errors: &mut Vec<RuleError>,
) -> Matcher {
    let mut given = Vec::new();
    if spec.keywords.is_some() {
        given.push("keywords");
    }
    if spec.keywords_file.is_some() {
        given.push("keywords_file");
    }
    if spec.regex.is_some() {
        given.push("regex");
    }
    if spec.feature.is_some() {
        given.push("feature");
    }
    if spec.all.is_some() || spec.any.is_some() {
        given.push("all/any");
    }
    match given.len() {
        0 => {
            errors.push(RuleError::new(
                path,
                "no matcher: give one of keywords, keywords_file, regex, feature, all/any",
            ));
            return Matcher::Invalid;
        }
        1 => {}
        _ => {
            errors.push(RuleError::new(
                path,
                format!("several matchers ({}): give exactly one", given.join(", ")),
            ));
            return Matcher::Invalid;
        }
    }

    if let Some(list) = &spec.keywords {
        return keyword_matcher(
            list.iter().map(String::as_str),
            &format!("{path}.keywords"),
            errors,
        );
    }
    if let Some(file) = &spec.keywords_file {
        let field = format!("{path}.keywords_file");
        return match source.read(file) {
            Ok(contents) => {
                let lines = parse_keyword_lines(&contents);
                keyword_matcher(lines.iter().map(String::as_str), &field, errors)
            }
            Err(message) => {
                errors.push(RuleError::new(field, message));
                Matcher::Invalid
            }
        };
    }
    if let Some(pattern) = &spec.regex {
        return match Regex::new(pattern) {
            Ok(re) => Matcher::Regex(re),
            Err(e) => {
                errors.push(RuleError::new(
                    format!("{path}.regex"),
                    one_line(&e.to_string()),
                ));
                Matcher::Invalid
            }
        };
    }
    if let Some(name) = &spec.feature {
        return match Feature::parse(name) {
            Some(f) => Matcher::Feature(f),
            None => {
                let known: Vec<&str> = Feature::ALL.iter().map(|f| f.as_str()).collect();
                errors.push(RuleError::new(
                    format!("{path}.feature"),
                    format!(
                        "unknown feature `{name}`; expected one of {}",
                        known.join(", ")
                    ),
                ));
                Matcher::Invalid
            }
        };
    }

    let mut ok = true;
    let mut resolve = |field: &str, names: &Option<Vec<String>>| -> Vec<u16> {
        let Some(names) = names else {
            return Vec::new();
        };
        if names.is_empty() {
            ok = false;
            errors.push(RuleError::new(
                format!("{path}.{field}"),
                "empty list of symbols",
            ));
        }
        let mut ids = Vec::with_capacity(names.len());
        for name in names {
            match first_index.get(name.as_str()) {
                Some(&j) if j < index => ids.push(j as u16),
                Some(_) => {
                    ok = false;
                    errors.push(RuleError::new(
                        format!("{path}.{field}"),
                        format!("`{name}` must be defined above the rule that refers to it"),
                    ));
                }
                None => {
                    ok = false;
                    errors.push(RuleError::new(
                        format!("{path}.{field}"),
                        format!("unknown symbol `{name}`"),
                    ));
                }
            }
        }
        ids
    };
    let all = resolve("all", &spec.all);
    let any = resolve("any", &spec.any);
    if ok {
        Matcher::Combination { all, any }
    } else {
        Matcher::Invalid
    }
}

fn keyword_matcher<'a>(
    raw: impl Iterator<Item = &'a str>,
    field: &str,
    errors: &mut Vec<RuleError>,
) -> Matcher {
    let mut words: Vec<String> = Vec::new();
    let mut valid = true;
    for (k, word) in raw.enumerate() {
        let folded = fold_keyword(word);
        if folded.is_empty() {
            valid = false;
            errors.push(RuleError::new(format!("{field}[{k}]"), "empty keyword"));
        } else if !words.contains(&folded) {
            words.push(folded);
        }
    }
    if words.is_empty() && valid {
        errors.push(RuleError::new(field, "empty keyword list"));
        return Matcher::Invalid;
    }
    if valid {
        Matcher::Keywords(words)
    } else {
        Matcher::Invalid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::normalize::Normalizer;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// The daemon's own normalizer, so the rules are tested on the text they will see.
    fn norm(raw: &str) -> NormalizedText {
        static NORMALIZER: OnceLock<Normalizer> = OnceLock::new();
        let mut out = NormalizedText::default();
        NORMALIZER
            .get_or_init(|| Normalizer::new(&[]))
            .normalize_into(raw, &mut out);
        out
    }

    #[test]
    fn keywords_and_patterns_are_written_in_simplified_script() {
        // The body comes with traditional characters read as simplified, and keywords are folded
        // the same way: a traditional keyword would silently match its simplified form too (賭
        // would fire on every 赌), and a traditional character in a regex would never match.
        let files = std::iter::once(("rules.toml", EMBEDDED_RULES)).chain(
            EMBEDDED_KEYWORD_FILES
                .iter()
                .map(|&(path, text)| (path, text)),
        );
        for (path, text) in files {
            for (i, line) in text.lines().enumerate() {
                let traditional: String = line
                    .chars()
                    .filter(|&c| crate::pipeline::normalize::simplified(c) != c)
                    .collect();
                assert!(
                    line.trim_start().starts_with('#') || traditional.is_empty(),
                    "{path}:{}: traditional {traditional} in {line}",
                    i + 1
                );
            }
        }
    }

    #[test]
    fn a_fee_before_a_payout_is_fraud_and_names_its_channel_and_a_deposit_is_not() {
        let set = embedded();
        for scam in [
            "【惠农服务】您的耕地地力补贴1,860元已审核通过，需先缴纳手续费120元方可发放。",
            "【某银行】您的贷款已批，先交首期利息800元即可放款。",
            "恭喜获得按摩椅一台，领取需缴纳公证费1200元。",
            "您的藏品估值46万元，办理变现需先支付挂牌税费12,000元。",
        ] {
            let c = classify(set, scam);
            assert!(
                names(set, &c.symbols).contains(&"FRAUD_ADVANCE_FEE".to_owned()),
                "{scam}"
            );
            assert!(c.names_channel, "{scam}");
        }
        for notice in [
            "【华中科技大学】国家助学金3300元将于10月中旬发放至本人银行卡，无需缴纳任何费用。",
            "【街电】使用充电宝需先支付押金99元，归还后退还至原账户。",
            "【顺丰速运】您的到付件已到站，签收时需支付运费12元。",
            "【出入境】护照已制好，领取时请携带身份证，工本费已于受理时缴纳。",
        ] {
            let c = classify(set, notice);
            assert!(!c.names_channel, "{notice}: {:?}", names(set, &c.symbols));
        }
    }

    #[test]
    fn the_one_regex_search_fires_exactly_the_rules_each_regex_alone_would() {
        let set = embedded();
        let file: RulesFile = toml::from_str(EMBEDDED_RULES).unwrap();
        let alone: Vec<(u16, regex::Regex)> = file
            .rules
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i as u16, regex::Regex::new(r.regex.as_ref()?).unwrap())))
            .collect();
        assert!(alone.len() >= 12);
        let regexes = set.regexes.as_ref().unwrap();
        let fixture = include_str!("../../../tests/it/fixtures/port_sms.tsv");
        let mut matched = 0;
        let mut witnesses: Vec<(u16, String)> = Vec::new();
        for line in fixture.lines().skip(1) {
            let Some((_, raw)) = line.split_once('\t') else {
                continue;
            };
            let mut norm = NormalizedText::default();
            crate::pipeline::normalize::Normalizer::default().normalize_into(raw, &mut norm);
            let mut fired = Fired([0; FIRED_WORDS]);
            regexes.fire(&norm.text, &mut fired);
            for (rule, re) in &alone {
                assert_eq!(
                    fired.get(*rule),
                    re.is_match(&norm.text),
                    "rule {rule}: {raw}"
                );
                matched += usize::from(fired.get(*rule));
                if fired.get(*rule) && witnesses.iter().all(|(r, _)| r != rule) {
                    witnesses.push((*rule, norm.text.clone()));
                }
            }
        }
        // Several rules on one message are all reported (overlapping, not the first match only).
        assert!(matched > 20 && witnesses.len() >= 3, "{matched}");
        let joined: String = witnesses.iter().map(|(_, t)| format!("{t}。")).collect();
        let mut fired = Fired([0; FIRED_WORDS]);
        regexes.fire(&joined, &mut fired);
        for (rule, re) in &alone {
            assert_eq!(fired.get(*rule), re.is_match(&joined), "rule {rule}");
        }
        // (A pattern anchored at the start, `^…`, fires alone but not inside the joined text.)
        assert!(alone.iter().filter(|(rule, _)| fired.get(*rule)).count() >= 3);
    }

    fn embedded() -> &'static RuleSet {
        static SET: OnceLock<RuleSet> = OnceLock::new();
        SET.get_or_init(RuleSet::embedded)
    }

    fn classify(set: &RuleSet, raw: &str) -> Classification {
        let mut out = Classification::default();
        set.classify(&norm(raw), &mut out);
        out
    }

    fn names(set: &RuleSet, ids: &[SymbolId]) -> Vec<String> {
        ids.iter()
            .map(|id| set.symbol_name(*id).to_owned())
            .collect()
    }

    fn fixture() -> Vec<(Category, String)> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/port_sms.tsv");
        let contents = std::fs::read_to_string(&path).unwrap();
        contents
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let (label, text) = l.split_once('\t').unwrap();
                (
                    Category::parse(label).unwrap_or_else(|| panic!("label {label}")),
                    text.to_owned(),
                )
            })
            .collect()
    }

    fn dir_with(files: &[(&str, &str)]) -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("portcullis-rules-{}-{n}", std::process::id()));
        std::fs::create_dir_all(dir.join("keywords")).unwrap();
        for (name, contents) in files {
            std::fs::write(dir.join(name), contents).unwrap();
        }
        dir
    }

    #[test]
    fn a_typhoons_outer_bands_are_not_escort_slang() {
        let set = embedded();
        let fired = |raw: &str| names(set, &classify(set, raw).symbols);
        let warning = "【天津市应急管理局】受台风外围影响，今夜至明天我市将出现大风、暴雨天气，请居民关好门窗。";
        assert!(!fired(warning).contains(&"ESCORT".to_owned()));
        assert_ne!(classify(set, warning).category, Some(Category::Illegal));
        for ad in [
            "高端外围，空姐、网红、大学生，全国可飞",
            "外围美女上门，价格面议",
        ] {
            assert!(fired(ad).contains(&"ESCORT".to_owned()), "{ad}");
        }
    }

    #[test]
    fn offers_of_accounts_devices_and_cures_are_illegal_and_warnings_are_not() {
        let set = embedded();
        for offer in [
            "【急招】收购实名手机号、抖音账号、闲置微信号，高价回收，当天结算。",
            "高价收对公账户、U盾，一户3000，可长期合作，详询老王",
            "【安防科技】无线监听器、远程窃听设备，免安装实时收听，货到付款。",
            "燃气表调节器，燃气费直降一半，查不出来，支持货到付款。",
            "本地精准客源：新房业主名单、车主名单，含姓名电话，0.1元/条。",
            "公积金套取，无需买房租房，全额提取，3天到账。",
            "收購實名電話卡，現金結算",
            "长期收各大银行一类卡，带U盾带手机卡，每套给1500元。",
            "【国医堂】腰椎间盘突出特效药，无需手术，一个月断根，微信同号下单。",
            "【健康养生】痛风克星！一周排尽尿酸，永不复发，限时199元两盒。退订回T",
            "【农药直销】百草枯原液现货，隐蔽包装发货。",
            "养猪户注意：瘦肉精有货，出栏前一周喂，检测查不出。",
            "【考试服务】英语四六级代考，包过，定金500元。回T退订",
            "【游戏辅助】透视自瞄外挂，防封稳定，日卡15元。回T退订",
            "【户外用品】弓弩、甩棍、电击器，防身利器，全国包邮。退订回T",
            "【智能安防】微型针孔摄像头，远程手机看，包邮。",
            "【科学上网】稳定翻墙节点，学生包年99元。",
        ] {
            assert_eq!(
                classify(set, offer).category,
                Some(Category::Illegal),
                "{offer}"
            );
        }
        for notice in [
            "【某市公安局】警方提醒：出租、出借、出售本人银行卡、电话卡、微信号可能触犯帮助信息网络犯罪活动罪。",
            "【中国移动】旧手机回收以旧换新，最高抵扣800元，详询营业厅。回T退订",
            "【国家电网】电表校验已完成，如对计量有疑问请拨打95598。",
            "【某市公安局】老年朋友请注意：凡是推销“保健品包治百病”的，都是骗局！",
            "【县农业农村局】百草枯、甲胺磷等禁用农药严禁销售使用，发现请举报12316。",
            "【市场监管】严查生猪养殖使用瘦肉精，举报电话12315。",
            "【省教育考试院】考试期间利用无线设备作弊、组织替考均属犯罪行为，考试院将联合公安严厉打击。",
            "【某游戏】检测到您的账号使用外挂，已封禁7天，如有异议请在游戏内申诉。",
            "【地铁运营】弓弩、甩棍、电击器等管制器具禁止携带进站，感谢配合。",
        ] {
            assert_ne!(
                classify(set, notice).category,
                Some(Category::Illegal),
                "{notice}"
            );
        }
    }

    #[test]
    fn a_brand_linking_to_a_phishing_tld_and_a_charge_cancelled_by_phone_are_fraud() {
        let set = embedded();
        let fired = |raw: &str| names(set, &classify(set, raw).symbols);
        let signed =
            "【菜鸟驿站】您有一个包裹已超时未取，将于今晚退回，修改取件时间请点 cnyz-qj.cc/7k";
        let c = classify(set, signed);
        assert!(fired(signed).contains(&"SIGNED_LINK_ABUSED_TLD".to_owned()));
        assert_eq!(
            c.category,
            Some(Category::FraudSuspect),
            "{:?}",
            fired(signed)
        );
        // Unsigned, the link is one clue (URL_ABUSED_TLD), not the brand pattern.
        let unsigned = "您有一个包裹已超时未取，修改取件时间请点 cnyz-qj.cc/7k";
        assert!(fired(unsigned).contains(&"URL_ABUSED_TLD".to_owned()));
        assert!(!fired(unsigned).contains(&"SIGNED_LINK_ABUSED_TLD".to_owned()));
        // The brand's own domain is nothing of the kind.
        let own = "【菜鸟驿站】您有一个包裹待取，详情 https://www.cainiao.com/x";
        assert!(!fired(own).iter().any(|s| s.contains("ABUSED_TLD")));

        let scam = "【京东金融】您开通的百万保障服务即将到期，不关闭将每月扣费398元，关闭请联系客服 4008-066-223。";
        assert!(fired(scam).contains(&"FRAUD_CHARGE_CANCEL_CALL".to_owned()));
        assert_eq!(classify(set, scam).category, Some(Category::FraudSuspect));
        // An honest renewal notice cancels in the app: the charge talk alone is weak.
        let honest = "【爱奇艺】您的黄金VIP会员将于12月10日自动续费25元，如需取消可在App内我的-会员中心操作。";
        assert!(!fired(honest).contains(&"FRAUD_CHARGE_CANCEL_CALL".to_owned()));
        assert_ne!(classify(set, honest).category, Some(Category::FraudSuspect));
    }

    #[test]
    fn embedded_rules_are_valid() {
        let set = embedded();
        assert!(set.rule_count() >= 40, "{set:?}");
        assert_eq!(set.symbol_count(), set.rule_count());
        assert!(set.keyword_count() >= 200, "{set:?}");
        assert_eq!(set.symbol_name(SymbolId(0)), "HAS_URL");
        assert_eq!(set.symbol_name(SymbolId(u16::MAX)), "");
        let id = set.symbol_id("LOAN_PITCH").unwrap();
        assert_eq!(set.symbol_name(id), "LOAN_PITCH");
        assert_eq!(set.symbol_category(id), Some(Category::LoanMarketing));
    }

    #[test]
    fn embedded_rules_match_the_files_on_disk() {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let on_disk = RuleSet::load(&config.join("rules.toml")).unwrap();
        assert_eq!(on_disk.rule_count(), embedded().rule_count());
        assert_eq!(on_disk.keyword_count(), embedded().keyword_count());
    }

    #[test]
    fn embedded_keyword_table_lists_every_file() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/keywords");
        let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| format!("keywords/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|n| n.ends_with(".txt"))
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = EMBEDDED_KEYWORD_FILES
            .iter()
            .map(|(n, _)| (*n).to_owned())
            .collect();
        embedded.sort();
        assert_eq!(
            on_disk, embedded,
            "add new keyword files to EMBEDDED_KEYWORD_FILES"
        );
    }

    #[test]
    fn fixture_meets_the_quality_bar() {
        let set = embedded();
        let rows = fixture();
        assert!(rows.len() >= 140, "{}", rows.len());
        let mut failures = Vec::new();
        let mut correct = 0usize;
        let (mut bad_total, mut bad_caught) = (0usize, 0usize);
        let mut confusion = [[0usize; 7]; 7];
        let mut out = Classification::default();
        for (label, text) in &rows {
            set.classify(&norm(text), &mut out);
            let got = out.category.unwrap();
            confusion[label.index()][got.index()] += 1;
            if got == *label {
                correct += 1;
            }
            let why = || {
                format!(
                    "{label:?} -> {got:?} spam {:.2} {:?}: {text}",
                    out.spam_score,
                    names(set, &out.symbols)
                )
            };
            match label {
                Category::Verification | Category::Service => {
                    let commercial_or_abuse = matches!(
                        got,
                        Category::FraudSuspect
                            | Category::Illegal
                            | Category::LoanMarketing
                            | Category::Marketing
                    );
                    if out.spam_score >= 0.5 || commercial_or_abuse {
                        failures.push(why());
                    }
                }
                Category::FraudSuspect | Category::Illegal => {
                    bad_total += 1;
                    if out.spam_score >= 0.5 {
                        bad_caught += 1;
                    }
                }
                _ => {}
            }
        }
        let accuracy = correct as f64 / rows.len() as f64;
        let caught = bad_caught as f64 / bad_total as f64;
        let matrix: Vec<String> = Category::ALL
            .iter()
            .map(|c| format!("{:>15} {:?}", c.as_str(), confusion[c.index()]))
            .collect();
        let report = format!(
            "accuracy {accuracy:.3}, fraud+illegal spam>=0.5 {caught:.3}\n{}\n{}",
            matrix.join("\n"),
            failures.join("\n")
        );
        assert!(
            failures.is_empty(),
            "verification/service rows flagged:\n{report}"
        );
        assert!(accuracy >= 0.85, "{report}");
        assert!(caught >= 0.8, "{report}");
        eprintln!("{report}");
    }

    #[test]
    fn verification_code_is_not_spam_and_fraud_is() {
        let set = embedded();
        let code = classify(
            set,
            "【京东】您的验证码是708934，请于10分钟内填写，请勿泄露。",
        );
        assert_eq!(code.category, Some(Category::Verification));
        assert!(code.spam_score < 0.05, "{}", code.spam_score);
        assert!(names(set, &code.symbols).contains(&"VERIFICATION_CODE".to_owned()));
        for english in [
            "【PayPal】Use 4467108 to verify your PayPal account. Valid for 15 min.",
            "482913 is your Google verification code.",
        ] {
            let c = classify(set, english);
            assert_eq!(c.category, Some(Category::Verification), "{english}");
            assert!(
                names(set, &c.symbols).contains(&"VERIFICATION_CODE_FIRST".to_owned()),
                "{english}"
            );
        }
        let phish = classify(
            set,
            "【工商银行】您的账户存在异常，已被冻结，请登录 icbc-v.cc 验证身份。",
        );
        assert_eq!(phish.category, Some(Category::FraudSuspect));
        assert!(phish.spam_score > 0.9, "{}", phish.spam_score);
        let names = names(set, &phish.symbols);
        assert!(names.contains(&"FRAUD_ALERT_LINK".to_owned()), "{names:?}");
    }

    #[test]
    fn overlapping_and_shared_keywords_count_for_every_rule_once() {
        let toml = r#"
            spam_bias = 0.0
            [[rule]]
            symbol = "SHORT"
            category = "LOAN_MARKETING"
            keywords = ["贷款", "贷"]
            weight = 1.0
            spam = 1.0
            [[rule]]
            symbol = "LONG"
            category = "LOAN_MARKETING"
            keywords = ["无抵押贷款", "贷款"]
            weight = 2.0
            spam = 2.0
            [[rule]]
            symbol = "CASE"
            keywords = ["ＶＩＰ会员"]
        "#;
        let set = RuleSet::from_toml_str(toml, Path::new(".")).unwrap();
        assert_eq!(set.keyword_count(), 4);
        let mut out = Classification::default();
        set.classify(&norm("无抵押贷款，贷款，贷款！VIP会员"), &mut out);
        assert_eq!(names(&set, &out.symbols), ["SHORT", "LONG", "CASE"]);
        assert_eq!(out.category_scores[Category::LoanMarketing.index()], 3.0);
        assert_eq!(out.spam_logit, 3.0);
        assert_eq!(out.category, Some(Category::LoanMarketing));
    }

    #[test]
    fn category_ties_go_to_the_more_severe_and_weak_evidence_is_service() {
        let toml = r#"
            min_category_score = 1.0
            [[rule]]
            symbol = "PROMO"
            category = "MARKETING"
            keywords = ["优惠"]
            weight = 2.0
            [[rule]]
            symbol = "PRIZE"
            category = "FRAUD_SUSPECT"
            keywords = ["中奖"]
            weight = 2.0
            [[rule]]
            symbol = "WEAK"
            category = "ILLEGAL"
            keywords = ["澳门"]
            weight = 0.5
        "#;
        let set = RuleSet::from_toml_str(toml, Path::new(".")).unwrap();
        assert_eq!(
            classify(&set, "优惠 中奖").category,
            Some(Category::FraudSuspect)
        );
        assert_eq!(classify(&set, "优惠").category, Some(Category::Marketing));
        assert_eq!(classify(&set, "澳门").category, Some(Category::Service));
        let nothing = classify(&set, "");
        assert_eq!(nothing.category, Some(Category::Service));
        assert!(nothing.symbols.is_empty());
        assert!((nothing.spam_score - 1.0 / (1.0 + 3.0f64.exp())).abs() < 1e-12);
    }

    #[test]
    fn combinations_monitor_mode_features_and_regexes() {
        let toml = r#"
            spam_bias = 0.0
            [[rule]]
            symbol = "LINK"
            feature = "has_url"
            monitor = true
            spam = 5.0
            [[rule]]
            symbol = "ALERT"
            category = "FRAUD_SUSPECT"
            regex = '账户.{0,4}异常'
            weight = 0.5
            [[rule]]
            symbol = "ALERT_LINK"
            category = "FRAUD_SUSPECT"
            all = ["ALERT", "LINK"]
            weight = 1.0
            spam = 1.0
            [[rule]]
            symbol = "EITHER"
            any = ["ALERT", "LINK"]
        "#;
        let set = RuleSet::from_toml_str(toml, Path::new(".")).unwrap();
        let with_link = classify(&set, "您的账户存在异常 x.cn/a");
        assert_eq!(
            names(&set, &with_link.symbols),
            ["ALERT", "ALERT_LINK", "EITHER"]
        );
        assert_eq!(names(&set, &with_link.monitored_symbols), ["LINK"]);
        assert_eq!(
            with_link.spam_logit, 1.0,
            "the monitored rule counts nothing"
        );
        assert_eq!(with_link.category, Some(Category::FraudSuspect));
        let without = classify(&set, "您的账户存在异常");
        assert_eq!(names(&set, &without.symbols), ["ALERT", "EITHER"]);
        assert_eq!(without.category, Some(Category::Service));
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let toml = r#"
            spam_bias = inf
            [[rule]]
            symbol = "lower_case"
            keywords = ["a"]
            [[rule]]
            symbol = "DUP"
            keywords = ["b"]
            [[rule]]
            symbol = "DUP"
            keywords = ["c"]
            [[rule]]
            symbol = "BAD_CATEGORY"
            category = "SPAMMY"
            weight = 1.0
            keywords = ["d"]
            [[rule]]
            symbol = "NO_MATCHER"
            [[rule]]
            symbol = "TWO_MATCHERS"
            keywords = ["e"]
            regex = "f"
            [[rule]]
            symbol = "MISSING_FILE"
            keywords_file = "keywords/nope.txt"
            [[rule]]
            symbol = "EMPTY_LIST"
            keywords = []
            [[rule]]
            symbol = "EMPTY_FILE"
            keywords_file = "keywords/comments_only.txt"
            [[rule]]
            symbol = "BAD_REGEX"
            regex = "(unclosed"
            [[rule]]
            symbol = "BAD_FEATURE"
            feature = "has_lasers"
            [[rule]]
            symbol = "NAN_SPAM"
            keywords = ["g"]
            spam = nan
            [[rule]]
            symbol = "WEIGHT_WITHOUT_CATEGORY"
            keywords = ["h"]
            weight = 2.0
            [[rule]]
            symbol = "FORWARD_REF"
            all = ["LATER", "NOWHERE"]
            [[rule]]
            symbol = "LATER"
            keywords = ["i"]
            [[rule]]
            symbol = "BLANK_KEYWORD"
            keywords = ["j", "  "]
        "#;
        let dir = dir_with(&[("keywords/comments_only.txt", "# nothing here\n\n")]);
        let errors = RuleSet::from_toml_str(toml, &dir).unwrap_err();
        let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spam_bias",
                "rule[0].symbol",
                "rule[2].symbol",
                "rule[BAD_CATEGORY].category",
                "rule[NO_MATCHER]",
                "rule[TWO_MATCHERS]",
                "rule[MISSING_FILE].keywords_file",
                "rule[EMPTY_LIST].keywords",
                "rule[EMPTY_FILE].keywords_file",
                "rule[BAD_REGEX].regex",
                "rule[BAD_FEATURE].feature",
                "rule[NAN_SPAM].spam",
                "rule[WEIGHT_WITHOUT_CATEGORY].weight",
                "rule[FORWARD_REF].all",
                "rule[FORWARD_REF].all",
                "rule[BLANK_KEYWORD].keywords[1]",
            ],
            "{errors:#?}"
        );
        let message = |p: &str| {
            errors
                .iter()
                .find(|e| e.path == p)
                .map(|e| e.message.clone())
                .unwrap()
        };
        assert!(message("rule[2].symbol").contains("duplicate symbol `DUP`"));
        assert!(message("rule[MISSING_FILE].keywords_file").contains("keywords/nope.txt"));
        assert!(
            message("rule[BAD_REGEX].regex").contains("unclosed group"),
            "{}",
            message("rule[BAD_REGEX].regex")
        );
        assert!(message("rule[TWO_MATCHERS]").contains("keywords, regex"));
        for e in &errors {
            assert!(!e.message.ends_with('.'), "{e}");
            assert!(
                !e.message.starts_with(|c: char| c.is_ascii_uppercase()),
                "{e}"
            );
        }
    }

    #[test]
    fn schema_errors_name_the_rule() {
        let toml = "[[rule]]\nsymbol = \"A\"\nkeywords = [\"x\"]\n[[rule]]\nsymbol = \"B\"\nkeyword = [\"y\"]\n";
        let errors = RuleSet::from_toml_str(toml, Path::new(".")).unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].path, "rule[1]");
        assert!(
            errors[0].message.contains("unknown field `keyword`"),
            "{}",
            errors[0]
        );
        let errors = RuleSet::from_toml_str("spam_bias = \"high\"\n", Path::new(".")).unwrap_err();
        assert_eq!(errors[0].path, "toml");
        let errors = RuleSet::load(Path::new("/nonexistent/rules.toml")).unwrap_err();
        assert!(
            errors[0].message.starts_with("cannot read rules file"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn keyword_files_resolve_relative_to_the_rules_file() {
        let dir = dir_with(&[
            ("keywords/loan.txt", "# loan words\n贷款\n\n  放款  \n"),
            (
                "rules.toml",
                "[[rule]]\nsymbol = \"LOAN\"\ncategory = \"LOAN_MARKETING\"\nweight = 2.0\nkeywords_file = \"keywords/loan.txt\"\n",
            ),
        ]);
        let set = RuleSet::load(&dir.join("rules.toml")).unwrap();
        assert_eq!(set.keyword_count(), 2);
        assert_eq!(
            classify(&set, "当天放款").category,
            Some(Category::LoanMarketing)
        );
    }

    #[test]
    fn classify_reuses_its_buffers() {
        let set = embedded();
        let mut out = Classification::default();
        set.classify(
            &norm("【金沙娱乐】首存送彩金，百家乐，加微信 js8866 t.cn/abc"),
            &mut out,
        );
        let capacity = out.symbols.capacity();
        let pointer = out.symbols.as_ptr();
        set.classify(&norm("【京东】验证码 1234"), &mut out);
        assert_eq!(
            (out.symbols.capacity(), out.symbols.as_ptr()),
            (capacity, pointer)
        );
        assert_eq!(out.category, Some(Category::Verification));
        assert_eq!(
            out.category_scores[Category::Illegal.index()],
            0.0,
            "scores are reset"
        );
    }

    #[test]
    fn rule_set_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RuleSet>();
    }

    proptest! {
        #[test]
        fn classify_never_panics(text in ".{0,300}", flags in any::<u32>(), urls in 0usize..3, has_sig in any::<bool>()) {
            let set = embedded();
            let norm = NormalizedText {
                text,
                flags,
                signature: has_sig.then(|| "测试".to_owned()),
                urls: vec!["t.cn/x".to_owned(); urls],
                shortened_urls: urls as u16,
                phones: vec!["13800138000".to_owned()],
                ..NormalizedText::default()
            };
            let mut out = Classification::default();
            set.classify(&norm, &mut out);
            prop_assert!(out.category.is_some());
            prop_assert!((0.0..=1.0).contains(&out.spam_score));
            prop_assert!(out.symbols.windows(2).all(|w| w[0].0 < w[1].0));
        }

        #[test]
        fn chinese_spam_words_in_any_order_never_panic(words in proptest::collection::vec(
            proptest::sample::select(vec!["验证码", "1234", "贷款", "逾期", "彩金", "退订", "账户异常", "中奖", "，", " ", "x.cn/a"]),
            0..20,
        )) {
            let text: String = words.concat();
            let mut out = Classification::default();
            embedded().classify(&norm(&text), &mut out);
            prop_assert!(out.category.is_some());
        }
    }
}
