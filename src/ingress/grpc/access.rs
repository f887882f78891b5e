//! Who is calling and what they may call. Every gRPC request passes through here before it reaches
//! a service: the bearer token names a client, the client's roles decide the method, and the
//! client's request rate is bounded. Services read the caller from the request's extensions (the
//! compliance audit records who asked).

use std::sync::Arc;

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
