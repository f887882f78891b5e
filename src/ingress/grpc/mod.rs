//! The gRPC services of API.md. Screening is implemented; the services later issues implement are
//! registered so clients and reflection see the whole contract, and answer UNIMPLEMENTED.

pub mod access;
pub mod compliance;
pub mod convert;
pub mod operations;
pub mod registry;
pub mod screening;

/// The encoded descriptor set of proto/portcullis/v1, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/portcullis_descriptor.bin"));
