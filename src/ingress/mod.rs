//! Async edges where messages come in. Proto -> domain conversion happens here (and in
//! `screening::validate`) and nowhere else.

pub mod grpc;
pub mod kafka;
