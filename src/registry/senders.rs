//! The sender registry: which enterprise stands behind a port, which 【signatures】 it may use and
//! which categories the port is registered for (API.md "The sender registry"). Loaded from
//! `senders.toml`, validated with every error at once, swapped whole on reload.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Deserialize;

use crate::config::ConfigError;
use crate::domain::{Category, CategorySet, EnterpriseId};
use crate::pipeline::normalize::Normalizer;
use crate::throttle::quota::PortQuota;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendersFile {
    #[serde(default)]
    pub sender: Vec<SenderEntry>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SenderEntry {
    pub port: String,
    pub enterprise: String,
    pub name: String,
    #[serde(default)]
    pub signatures: Vec<String>,
    #[serde(default)]
    pub contact: String,
    pub categories: Vec<String>,
    #[serde(default)]
    pub priority: Option<String>,
    /// Reply confirmation template for this enterprise (registries issue); `{name}` is replaced.
    #[serde(default)]
    pub optout_confirmation: Option<String>,
    /// Per-port quota: messages per second (0 or absent = unlimited; excess HOLD PORT_QUOTA).
    #[serde(default)]
    pub msgs_per_s: f64,
    /// Per-port quota: SMS segments per second, every segment of a long SMS counted.
    #[serde(default)]
    pub segments_per_s: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    Normal,
    /// Government and emergency alerts: released without content, consent or throttle checks.
    Emergency,
}

/// One registered port.
#[derive(Debug)]
pub struct Sender {
    pub port: String,
    pub enterprise: EnterpriseId,
    pub name: String,
    /// Signatures in canonical form (as `Normalizer` leaves the text inside 【】).
    pub signatures: Vec<String>,
    pub contact: String,
    pub categories: CategorySet,
    pub priority: Priority,
    pub optout_confirmation: Option<String>,
    pub quota: PortQuota,
}

impl Sender {
    pub fn signature_matches(&self, canonical_signature: &str) -> bool {
        self.signatures.iter().any(|s| s == canonical_signature)
    }

    /// A "collection port" is one whose registered categories include COLLECTION (RULES.md).
    pub fn is_collection_port(&self) -> bool {
        self.categories.contains(Category::Collection)
    }
}

#[derive(Debug, Default)]
pub struct SenderRegistry {
    by_port: HashMap<String, Arc<Sender>>,
    shortest_port: usize,
    longest_port: usize,
}

impl SenderRegistry {
    /// Validates every entry; `path` prefixes the key paths of the errors (e.g. "senders.toml").
    pub fn build(
        file: &SendersFile,
        origin: &str,
        normalizer: &Normalizer,
    ) -> Result<SenderRegistry, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let mut by_port: HashMap<String, Arc<Sender>> = HashMap::new();
        for (i, entry) in file.sender.iter().enumerate() {
            let at = |field: &str| format!("{origin}: sender[{i}].{field}");
            let port = entry.port.trim();
            if port.is_empty() || port.len() > 21 || !port.bytes().all(|b| b.is_ascii_digit()) {
                errors.push(ConfigError::new(
                    at("port"),
                    format!("`{}` is not a port of 1 to 21 digits", entry.port),
                ));
            } else if by_port.contains_key(port) {
                errors.push(ConfigError::new(
                    at("port"),
                    format!("`{port}` is registered twice"),
                ));
            }
            if entry.enterprise.trim().is_empty() {
                errors.push(ConfigError::new(at("enterprise"), "empty"));
            }
            if entry.name.trim().is_empty() {
                errors.push(ConfigError::new(at("name"), "empty"));
            }
            let mut signatures = Vec::with_capacity(entry.signatures.len());
            for (j, sig) in entry.signatures.iter().enumerate() {
                let chars = sig.trim().chars().count();
                if !(2..=12).contains(&chars) || sig.contains(['【', '】']) {
                    errors.push(ConfigError::new(
                        at(&format!("signatures[{j}]")),
                        format!("`{sig}` must be 2 to 12 characters without 【】"),
                    ));
                    continue;
                }
                let mut canonical = String::new();
                normalizer.canonicalize_into(sig.trim(), &mut canonical);
                signatures.push(canonical);
            }
            let mut categories = CategorySet::EMPTY;
            if entry.categories.is_empty() {
                errors.push(ConfigError::new(
                    at("categories"),
                    "empty: name what this port may send",
                ));
            }
            for (j, c) in entry.categories.iter().enumerate() {
                match Category::parse(c) {
                    Some(Category::FraudSuspect | Category::Illegal) => {
                        errors.push(ConfigError::new(
                            at(&format!("categories[{j}]")),
                            format!("`{c}` cannot be registered for a port"),
                        ))
                    }
                    Some(cat) => categories.insert(cat),
                    None => errors.push(ConfigError::new(
                        at(&format!("categories[{j}]")),
                        format!("unknown category `{c}`"),
                    )),
                }
            }
            let priority = match entry.priority.as_deref() {
                None | Some("normal") => Priority::Normal,
                Some("emergency") => Priority::Emergency,
                Some(other) => {
                    errors.push(ConfigError::new(
                        at("priority"),
                        format!("unknown priority `{other}` (normal or emergency)"),
                    ));
                    Priority::Normal
                }
            };
            for (key, v) in [
                ("msgs_per_s", entry.msgs_per_s),
                ("segments_per_s", entry.segments_per_s),
            ] {
                if !(v.is_finite() && v >= 0.0) {
                    errors.push(ConfigError::new(
                        at(key),
                        format!("{v} must be 0 (unlimited) or more"),
                    ));
                }
            }
            if errors.is_empty() {
                by_port.insert(
                    port.to_owned(),
                    Arc::new(Sender {
                        port: port.to_owned(),
                        enterprise: Arc::from(entry.enterprise.trim()),
                        name: entry.name.trim().to_owned(),
                        signatures,
                        contact: entry.contact.clone(),
                        categories,
                        priority,
                        optout_confirmation: entry.optout_confirmation.clone(),
                        quota: PortQuota {
                            msgs_per_s: entry.msgs_per_s,
                            segments_per_s: entry.segments_per_s,
                        },
                    }),
                );
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let shortest_port = by_port.keys().map(String::len).min().unwrap_or(0);
        let longest_port = by_port.keys().map(String::len).max().unwrap_or(0);
        Ok(SenderRegistry {
            by_port,
            shortest_port,
            longest_port,
        })
    }

    /// The sender owning `port`: the registered port itself or the longest registered prefix of it
    /// (a longer port with a registered prefix belongs to that sender).
    pub fn lookup(&self, port: &str) -> Option<&Arc<Sender>> {
        if self.by_port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let upper = port.len().min(self.longest_port);
        (self.shortest_port..=upper)
            .rev()
            .find_map(|len| port.get(..len).and_then(|p| self.by_port.get(p)))
    }

    pub fn len(&self) -> usize {
        self.by_port.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_port.is_empty()
    }
}
