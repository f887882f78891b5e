//! The `[[clients]]`, `[limits]` and `[tls]` sections: who may call the gRPC API, with which roles
//! and at what rate, how large and how many requests a connection may carry, and the certificate the
//! API is served with. Tokens are never in the file, only their SHA-256 (`portcullis token new`
//! prints a token and the lines to paste). All three reload live; turning TLS on or off needs a
//! restart (the listener changes).

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::ConfigError;
use crate::ingress::grpc::access::{Role, RoleSet};
use crate::ingress::grpc::tls;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClient {
    name: String,
    token_sha256: String,
    roles: Vec<String>,
    rate_per_sec: Option<u32>,
    burst: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RawLimits {
    max_request_bytes: usize,
    max_concurrent_streams: u32,
    client_rate_per_sec: u32,
    client_burst: u32,
    tls_handshake_timeout_secs: u64,
}

impl Default for RawLimits {
    fn default() -> RawLimits {
        RawLimits {
            max_request_bytes: 64 * 1024,
            max_concurrent_streams: 128,
            client_rate_per_sec: 100_000,
            client_burst: 0,
            tls_handshake_timeout_secs: 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    cert: PathBuf,
    key: PathBuf,
}

impl RawTls {
    /// The files a reload watches.
    pub(super) fn files(&self) -> [&Path; 2] {
        [&self.cert, &self.key]
    }
}

/// One client of the gRPC API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSpec {
    pub name: String,
    pub token_sha256: [u8; 32],
    pub roles: RoleSet,
    /// Requests (unary calls and stream opens) per second; 0 = unlimited.
    pub rate_per_sec: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest decoded request message; larger ones are refused RESOURCE_EXHAUSTED.
    pub max_request_bytes: usize,
    /// HTTP/2 streams (calls) open at once on one connection.
    pub max_concurrent_streams: u32,
    pub tls_handshake_timeout: Duration,
    /// The rate of a client that names none, and of everyone when access control is off.
    pub client_rate_per_sec: u32,
    pub client_burst: u32,
}

/// Where the served certificate chain and its key are; read again on every reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The `[tls]` files and the certificate read from them when the configuration was validated.
/// The edge serves this certificate rather than reading the files again, so the certificate served
/// is always the one that was checked (a renewal landing between the two reads cannot slip in
/// unchecked, nor a half-written file fail after the check passed).
#[derive(Clone)]
pub struct ServedTls {
    pub files: TlsFiles,
    pub certificate: tls::ServedCertificate,
}

/// Equal when the files are: a configuration compares equal to its reload whatever the
/// certificate in the files (every reload puts the certificate read then in service).
impl PartialEq for ServedTls {
    fn eq(&self, other: &ServedTls) -> bool {
        self.files == other.files
    }
}

impl Eq for ServedTls {}

impl std::fmt::Debug for ServedTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedTls")
            .field("files", &self.files)
            .field("not_after_s", &self.certificate.not_after_s)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessConfig {
    /// Empty: access control is off, which is allowed only on a loopback `grpc_addr`.
    pub clients: Vec<ClientSpec>,
    pub limits: Limits,
    pub tls: Option<ServedTls>,
}

impl AccessConfig {
    pub fn is_open(&self) -> bool {
        self.clients.is_empty()
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

pub(super) fn validate(
    clients: &[RawClient],
    limits: &RawLimits,
    raw_tls: Option<&RawTls>,
    base: &Path,
    errors: &mut Vec<ConfigError>,
) -> Option<AccessConfig> {
    let before = errors.len();
    if !(1024..=64 * 1024 * 1024).contains(&limits.max_request_bytes) {
        errors.push(ConfigError::new(
            "limits.max_request_bytes",
            "must be 1024 to 67108864",
        ));
    }
    if !(1..=10_000).contains(&limits.max_concurrent_streams) {
        errors.push(ConfigError::new(
            "limits.max_concurrent_streams",
            "must be 1 to 10000",
        ));
    }
    if !(1..=300).contains(&limits.tls_handshake_timeout_secs) {
        errors.push(ConfigError::new(
            "limits.tls_handshake_timeout_secs",
            "must be 1 to 300",
        ));
    }
    let mut names = HashSet::new();
    let mut hashes = HashSet::new();
    let mut specs = Vec::with_capacity(clients.len());
    for (i, c) in clients.iter().enumerate() {
        let at = |key: &str| format!("clients[{i}].{key}");
        if !valid_name(&c.name) {
            errors.push(ConfigError::new(
                at("name"),
                format!(
                    "`{}` is not 1 to 64 of A-Z a-z 0-9 . _ -",
                    c.name.escape_debug()
                ),
            ));
        } else if !names.insert(c.name.as_str()) {
            errors.push(ConfigError::new(
                at("name"),
                format!("`{}` is named twice", c.name),
            ));
        }
        let mut token_sha256 = [0u8; 32];
        let hash_ok = c.token_sha256.len() == 64
            && hex::decode_to_slice(&c.token_sha256, &mut token_sha256).is_ok();
        if !hash_ok {
            errors.push(ConfigError::new(
                at("token_sha256"),
                "must be the token's SHA-256 in hex (64 characters), never the token itself; `portcullis token new` prints both",
            ));
        } else if !hashes.insert(token_sha256) {
            errors.push(ConfigError::new(
                at("token_sha256"),
                "the same token is given to two clients",
            ));
        }
        let mut roles = RoleSet::EMPTY;
        for r in &c.roles {
            match Role::parse(r) {
                Some(role) => roles = roles.with(role),
                None => errors.push(ConfigError::new(
                    at("roles"),
                    format!("`{r}` is not gateway, registry, compliance or operator"),
                )),
            }
        }
        if c.roles.is_empty() {
            errors.push(ConfigError::new(at("roles"), "names no role"));
        }
        let rate_per_sec = c.rate_per_sec.unwrap_or(limits.client_rate_per_sec);
        let burst = c
            .burst
            .or((limits.client_burst > 0).then_some(limits.client_burst))
            .unwrap_or(rate_per_sec);
        specs.push(ClientSpec {
            name: c.name.clone(),
            token_sha256,
            roles,
            rate_per_sec,
            burst: burst.max(1),
        });
    }
    let tls = raw_tls.and_then(|t| {
        let files = TlsFiles {
            cert: base.join(&t.cert),
            key: base.join(&t.key),
        };
        match tls::ServedCertificate::load(&files, jiff::Timestamp::now()) {
            Ok(certificate) => Some(ServedTls { files, certificate }),
            Err(e) => {
                errors.push(ConfigError::new(e.path(), e.to_string()));
                None
            }
        }
    });
    if errors.len() != before {
        return None;
    }
    Some(AccessConfig {
        clients: specs,
        limits: Limits {
            max_request_bytes: limits.max_request_bytes,
            max_concurrent_streams: limits.max_concurrent_streams,
            tls_handshake_timeout: Duration::from_secs(limits.tls_handshake_timeout_secs),
            client_rate_per_sec: limits.client_rate_per_sec,
            client_burst: if limits.client_burst > 0 {
                limits.client_burst
            } else {
                limits.client_rate_per_sec.max(1)
            },
        },
        tls,
    })
}

/// The embedded default may run without clients, but only where nobody else can reach it.
pub(super) fn check_open_only_on_loopback(
    access: &AccessConfig,
    grpc_addr: SocketAddr,
    errors: &mut Vec<ConfigError>,
) {
    if access.is_open() && !grpc_addr.ip().is_loopback() {
        errors.push(ConfigError::new(
            "clients",
            format!(
                "no [[clients]] configured, so access control is off; that is allowed only on a loopback server.grpc_addr, not {grpc_addr}"
            ),
        ));
    }
}
