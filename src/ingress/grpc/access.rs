//! Who is calling and what they may call. Every gRPC request passes through `AccessLayer` before it
//! reaches a service: the bearer token names a client, the client's roles decide the method, and
//! the client's request rate is bounded. Services read the caller from the request's extensions (the
//! compliance audit records who asked). Health stays open so probes and load balancers need no
//! secret; everything else needs a token once `[[clients]]` is configured.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use governor::{Quota, RateLimiter};
use http::{Request, Response};
use sha2::{Digest, Sha256};
use tonic::Status;
use tonic::body::Body;

use crate::config::access::{AccessConfig, ClientSpec};
use crate::metrics::EdgeMetrics;

/// What a client may do (API.md's services grouped by who calls them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Screening, Registry.HandleReply, Complaints: the SMS gateways.
    Gateway,
    /// Consent and opt-out writes: the systems that collect consent.
    Registry,
    /// Compliance reads and exports.
    Compliance,
    /// Operations: throttles, region blocks, feedback.
    Operator,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Gateway,
        Role::Registry,
        Role::Compliance,
        Role::Operator,
    ];

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Gateway => "gateway",
            Role::Registry => "registry",
            Role::Compliance => "compliance",
            Role::Operator => "operator",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RoleSet(u8);

impl RoleSet {
    pub const EMPTY: RoleSet = RoleSet(0);
    pub const ALL: RoleSet = RoleSet(0b1111);

    #[must_use]
    pub fn with(self, role: Role) -> RoleSet {
        RoleSet(self.0 | role.bit())
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    fn names(self) -> String {
        let names: Vec<&str> = Role::ALL
            .into_iter()
            .filter(|r| self.contains(*r))
            .map(Role::as_str)
            .collect();
        names.join(",")
    }
}

/// What a method needs from its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// gRPC health: probes carry no token.
    Nothing,
    /// Reflection and unknown paths (which answer UNIMPLEMENTED): any known client.
    AnyClient,
    Role(Role),
}

/// The role each method of API.md needs, by its HTTP/2 path `/package.Service/Method`.
fn need(path: &str) -> Need {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let (service, method) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    match service {
        "grpc.health.v1.Health" => Need::Nothing,
        "portcullis.v1.Screening" | "portcullis.v1.Complaints" => Need::Role(Role::Gateway),
        "portcullis.v1.Registry" if method == "HandleReply" => Need::Role(Role::Gateway),
        "portcullis.v1.Registry" => Need::Role(Role::Registry),
        "portcullis.v1.Compliance" => Need::Role(Role::Compliance),
        "portcullis.v1.Operations" => Need::Role(Role::Operator),
        _ => Need::AnyClient,
    }
}

/// The client a request came from, as the access layer established it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The client's name from `[[clients]]`; `anonymous` when access control is off (the embedded
    /// loopback default).
    pub name: Arc<str>,
}

impl Caller {
    pub fn anonymous() -> Caller {
        Caller {
            name: Arc::from("anonymous"),
        }
    }

    /// The caller a service sees: the one the access layer attached, or `anonymous`.
    pub fn of<T>(request: &tonic::Request<T>) -> Caller {
        request
            .extensions()
            .get::<Caller>()
            .cloned()
            .unwrap_or_else(Caller::anonymous)
    }
}

type Limiter = RateLimiter<
    governor::state::NotKeyed,
    governor::state::InMemoryState,
    governor::clock::DefaultClock,
>;

struct Client {
    spec: ClientSpec,
    caller: Caller,
    /// `None`: unlimited.
    limiter: Option<Limiter>,
}

impl Client {
    fn new(spec: ClientSpec) -> Client {
        let limiter = std::num::NonZeroU32::new(spec.rate_per_sec).map(|rate| {
            let burst = std::num::NonZeroU32::new(spec.burst).unwrap_or(rate);
            RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
        });
        Client {
            caller: Caller {
                name: Arc::from(spec.name.as_str()),
            },
            spec,
            limiter,
        }
    }
}

/// The clients in force: swapped whole on a reload.
struct Table {
    by_token: HashMap<[u8; 32], Arc<Client>>,
    /// Access control off: every request is this client, with every role.
    open: Option<Arc<Client>>,
}

/// The live client table.
pub struct AccessControl {
    table: ArcSwap<Table>,
}

impl AccessControl {
    pub fn new(config: &AccessConfig) -> AccessControl {
        AccessControl {
            table: ArcSwap::from_pointee(Self::table(config, None)),
        }
    }

    pub fn is_open(&self) -> bool {
        self.table.load().open.is_some()
    }

    /// Puts a reloaded client list in force. A client whose entry did not change keeps its rate
    /// limiter, so a reload is not a way around the rate.
    pub fn replace(&self, config: &AccessConfig) {
        let old = self.table.load_full();
        self.table.store(Arc::new(Self::table(config, Some(&old))));
    }

    fn table(config: &AccessConfig, old: Option<&Table>) -> Table {
        let by_token = config
            .clients
            .iter()
            .map(|spec| {
                let kept = old
                    .and_then(|t| t.by_token.get(&spec.token_sha256))
                    .filter(|c| c.spec == *spec);
                let client = kept
                    .map(Arc::clone)
                    .unwrap_or_else(|| Arc::new(Client::new(spec.clone())));
                (spec.token_sha256, client)
            })
            .collect();
        let open = config.is_open().then(|| {
            old.and_then(|t| t.open.clone()).unwrap_or_else(|| {
                Arc::new(Client::new(ClientSpec {
                    name: "anonymous".into(),
                    token_sha256: [0; 32],
                    roles: RoleSet::ALL,
                    rate_per_sec: config.limits.client_rate_per_sec,
                    burst: config.limits.client_burst,
                }))
            })
        });
        Table { by_token, open }
    }

    /// Decides one request: the caller to attach, or the status to answer with.
    fn admit(&self, path: &str, authorization: Option<&[u8]>) -> Result<Option<Caller>, Denial> {
        let need = need(path);
        if need == Need::Nothing {
            return Ok(None);
        }
        let table = self.table.load();
        let client = match &table.open {
            Some(open) => open,
            None => {
                let token = bearer(authorization)?;
                let hash: [u8; 32] = Sha256::digest(token).into();
                table.by_token.get(&hash).ok_or(Denial::UnknownToken)?
            }
        };
        if let Need::Role(role) = need
            && !client.spec.roles.contains(role)
        {
            return Err(Denial::Role {
                client: client.spec.name.clone(),
                has: client.spec.roles.names(),
                needs: role.as_str(),
            });
        }
        if let Some(limiter) = &client.limiter
            && limiter.check().is_err()
        {
            return Err(Denial::Rate {
                client: client.spec.name.clone(),
                rate: client.spec.rate_per_sec,
            });
        }
        Ok(Some(client.caller.clone()))
    }
}

/// A new client token (32 random bytes, base64url) and its SHA-256 in hex, as `[[clients]]` wants it.
pub fn new_token() -> Result<(String, String), getrandom::Error> {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token = format!(
        "pc_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    );
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    Ok((token, hash))
}

/// The token of an `authorization: Bearer <token>` header.
fn bearer(header: Option<&[u8]>) -> Result<&[u8], Denial> {
    let value = header.ok_or(Denial::NoToken)?;
    let token = value
        .strip_prefix(b"Bearer ")
        .or_else(|| value.strip_prefix(b"bearer "))
        .ok_or(Denial::Malformed)?;
    if token.is_empty() || !token.iter().all(|b| b.is_ascii_graphic()) {
        return Err(Denial::Malformed);
    }
    Ok(token)
}

#[derive(Debug)]
enum Denial {
    NoToken,
    Malformed,
    UnknownToken,
    Role {
        client: String,
        has: String,
        needs: &'static str,
    },
    Rate {
        client: String,
        rate: u32,
    },
}

impl Denial {
    /// `client_rate` is a limit; the others are access refusals.
    fn count(&self, metrics: &EdgeMetrics) {
        match self {
            Denial::NoToken | Denial::Malformed | Denial::UnknownToken => {
                metrics.unauthenticated.increment(1)
            }
            Denial::Role { .. } => metrics.permission_denied.increment(1),
            Denial::Rate { .. } => metrics.client_rate.increment(1),
        }
    }

    fn status(&self, path: &str) -> Status {
        match self {
            Denial::NoToken => Status::unauthenticated(
                "no credentials: send the client's token as `authorization: Bearer <token>`",
            ),
            Denial::Malformed => Status::unauthenticated(
                "malformed authorization header: expected `Bearer <token>` with a printable token",
            ),
            Denial::UnknownToken => Status::unauthenticated("unknown token"),
            Denial::Role { client, has, needs } => Status::permission_denied(format!(
                "client `{client}` (roles {has}) may not call {path}: it needs the {needs} role"
            )),
            Denial::Rate { client, rate } => Status::resource_exhausted(format!(
                "client `{client}` is over its request rate of {rate}/s; retry with backoff"
            )),
        }
    }
}

/// Per-connection facts the accept loop attaches (tonic puts them in every request's extensions).
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub remote: Option<std::net::SocketAddr>,
    /// Calls open on this connection now.
    pub open_calls: Arc<AtomicU32>,
}

/// The tower layer in front of every service.
#[derive(Clone)]
pub struct AccessLayer {
    control: Arc<AccessControl>,
    metrics: Arc<EdgeMetrics>,
    max_concurrent_streams: u32,
}

impl AccessLayer {
    pub fn new(
        control: Arc<AccessControl>,
        metrics: Arc<EdgeMetrics>,
        max_concurrent_streams: u32,
    ) -> AccessLayer {
        AccessLayer {
            control,
            metrics,
            max_concurrent_streams,
        }
    }
}

impl<S> tower::Layer<S> for AccessLayer {
    type Service = AccessService<S>;

    fn layer(&self, inner: S) -> AccessService<S> {
        AccessService {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AccessService<S> {
    inner: S,
    layer: AccessLayer,
}

/// Decrements a connection's open-call count when the response body is done with.
struct OpenCall(Arc<AtomicU32>);

impl Drop for OpenCall {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that holds its call's place in the connection's count until it is dropped (a
/// stream's body lives as long as the stream).
struct CountedBody {
    inner: Body,
    _call: Option<OpenCall>,
}

impl http_body::Body for CountedBody {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// tonic refuses a message over `max_decoding_message_size` with OUT_OF_RANGE and this text; gRPC
/// (and every other gRPC server) says RESOURCE_EXHAUSTED for that, so the edge answers that.
const TOO_LARGE: &str = "Error, decoded message length too large";

impl<S> tower::Service<Request<Body>> for AccessService<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let layer = self.layer.clone();
        let authorization = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(http::HeaderValue::as_bytes);
        match layer.control.admit(req.uri().path(), authorization) {
            Ok(caller) => {
                if let Some(caller) = caller {
                    req.extensions_mut().insert(caller);
                }
            }
            Err(denial) => {
                denial.count(&layer.metrics);
                let status = denial.status(req.uri().path());
                return Box::pin(async move { Ok(status.into_http()) });
            }
        }
        let call = req.extensions().get::<ConnectionInfo>().map(|conn| {
            let open = conn.open_calls.fetch_add(1, Ordering::Relaxed) + 1;
            if open >= layer.max_concurrent_streams {
                layer.metrics.concurrent_streams.increment(1);
            }
            OpenCall(Arc::clone(&conn.open_calls))
        });
        // The inner service was polled ready; a clone takes its place for the next call (tower's
        // documented pattern for services that are cloned per call).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let response = inner.call(req).await?;
            if let Some(refused) = too_large(response.headers()) {
                layer.metrics.request_size.increment(1);
                return Ok(Status::resource_exhausted(format!(
                    "request too large: {}",
                    refused.message().trim_start_matches("Error, ")
                ))
                .into_http());
            }
            Ok(response.map(|inner| Body::new(CountedBody { inner, _call: call })))
        })
    }
}

/// tonic's refusal of an oversized message, when the response is one (a trailers-only error: the
/// status is in the headers).
fn too_large(headers: &http::HeaderMap) -> Option<Status> {
    Status::from_header_map(headers)
        .filter(|s| s.code() == tonic::Code::OutOfRange && s.message().starts_with(TOO_LARGE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::access::Limits;

    fn config(clients: &[(&str, &str, &[Role], u32)]) -> AccessConfig {
        AccessConfig {
            clients: clients
                .iter()
                .map(|(name, token, roles, rate)| ClientSpec {
                    name: (*name).into(),
                    token_sha256: Sha256::digest(token.as_bytes()).into(),
                    roles: roles.iter().fold(RoleSet::EMPTY, |s, r| s.with(*r)),
                    rate_per_sec: *rate,
                    burst: (*rate).max(1),
                })
                .collect(),
            limits: Limits {
                max_request_bytes: 65536,
                max_concurrent_streams: 10,
                tls_handshake_timeout: std::time::Duration::from_secs(1),
                client_rate_per_sec: 0,
                client_burst: 0,
            },
            tls: None,
        }
    }

    #[test]
    fn each_method_needs_its_role() {
        assert_eq!(
            need("/portcullis.v1.Screening/Screen"),
            Need::Role(Role::Gateway)
        );
        assert_eq!(
            need("/portcullis.v1.Registry/HandleReply"),
            Need::Role(Role::Gateway)
        );
        assert_eq!(
            need("/portcullis.v1.Registry/OptOut"),
            Need::Role(Role::Registry)
        );
        assert_eq!(
            need("/portcullis.v1.Compliance/Decisions"),
            Need::Role(Role::Compliance)
        );
        assert_eq!(
            need("/portcullis.v1.Operations/BlockRegion"),
            Need::Role(Role::Operator)
        );
        assert_eq!(need("/grpc.health.v1.Health/Check"), Need::Nothing);
        assert_eq!(
            need("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"),
            Need::AnyClient
        );
    }

    #[test]
    fn tokens_are_checked_by_hash_and_roles_by_method() {
        let control = AccessControl::new(&config(&[("gw", "tok-gw", &[Role::Gateway], 0)]));
        let screen = "/portcullis.v1.Screening/Screen";
        let caller = control.admit(screen, Some(b"Bearer tok-gw")).unwrap();
        assert_eq!(caller.unwrap().name.as_ref(), "gw");
        assert!(matches!(control.admit(screen, None), Err(Denial::NoToken)));
        assert!(matches!(
            control.admit(screen, Some(b"Basic dG9rLWd3")),
            Err(Denial::Malformed)
        ));
        assert!(matches!(
            control.admit(screen, Some(b"Bearer ")),
            Err(Denial::Malformed)
        ));
        assert!(matches!(
            control.admit(screen, Some(b"Bearer tok-other")),
            Err(Denial::UnknownToken)
        ));
        assert!(matches!(
            control.admit(
                "/portcullis.v1.Operations/ListThrottles",
                Some(b"Bearer tok-gw")
            ),
            Err(Denial::Role {
                needs: "operator",
                ..
            })
        ));
        assert_eq!(
            control.admit("/grpc.health.v1.Health/Check", None).unwrap(),
            None
        );
    }

    #[test]
    fn a_client_over_its_rate_is_refused_and_a_reload_keeps_its_limiter() {
        let cfg = config(&[("gw", "tok", &[Role::Gateway], 2)]);
        let control = AccessControl::new(&cfg);
        let screen = "/portcullis.v1.Screening/Screen";
        assert!(control.admit(screen, Some(b"Bearer tok")).is_ok());
        assert!(control.admit(screen, Some(b"Bearer tok")).is_ok());
        control.replace(&cfg);
        assert!(matches!(
            control.admit(screen, Some(b"Bearer tok")),
            Err(Denial::Rate { rate: 2, .. })
        ));
    }

    #[test]
    fn with_no_clients_everyone_is_anonymous_with_every_role() {
        let control = AccessControl::new(&config(&[]));
        assert!(control.is_open());
        let caller = control
            .admit("/portcullis.v1.Operations/BlockRegion", None)
            .unwrap();
        assert_eq!(caller, Some(Caller::anonymous()));
    }

    #[test]
    fn tonics_oversize_refusal_is_recognised_in_the_headers() {
        let refusal = Status::out_of_range(
            "Error, decoded message length too large: found 70000 bytes, the limit is: 4096 bytes",
        )
        .into_http::<Body>();
        let status = too_large(refusal.headers()).expect("recognised");
        assert!(status.message().contains("found 70000 bytes"));
        let other = Status::unauthenticated("unknown token").into_http::<Body>();
        assert!(too_large(other.headers()).is_none());
    }
}
