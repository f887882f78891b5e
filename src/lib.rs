//! Portcullis: a carrier-side streaming spam filter for port-type (A2P) SMS.
//!
//! A message flows through the modules in this order: `ingress` (gRPC edges, request validation in
//! `screening`), then the synchronous `pipeline` (normalize -> classify -> policy -> verdict) reading
//! the `registry` (senders, consents, opt-outs) and the number-segment `region` table, and out as a
//! `proto::Decision`. `server` wires the edges and owns the drain; `config` loads, validates and
//! reloads; `metrics` names everything Prometheus sees.
#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]
#![warn(clippy::string_slice, clippy::unwrap_used, clippy::clone_on_ref_ptr)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

#[allow(
    clippy::all,
    clippy::unwrap_used,
    clippy::clone_on_ref_ptr,
    unreachable_pub,
    missing_docs
)]
pub mod proto {
    //! Generated from proto/portcullis/v1 (API.md); never edited by hand.
    tonic::include_proto!("portcullis.v1");
}

pub mod admin;
pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod idempotency;
pub mod ingress;
pub mod loadgen;
pub mod metrics;
pub mod pipeline;
pub mod reassembly;
pub mod region;
pub mod registry;
pub mod screening;
pub mod server;
pub mod smpp;
pub mod store;
pub mod throttle;
pub mod training;
