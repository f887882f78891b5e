//! The one integration test binary: the real daemon on 127.0.0.1:0, the generated gRPC client.

mod util;

mod access;
mod admin;
mod cli;
mod compliance_audit;
mod durability;
mod kafka;
mod long_sms;
mod malformed;
mod model;
mod pii_logs;
mod prometheus;
mod registry;
mod reload;
mod retention;
mod screening;
mod stream;
mod tamper;
mod throttles;
