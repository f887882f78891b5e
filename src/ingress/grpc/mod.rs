//! The gRPC edge: API.md's services, and in front of them who may call (`access`) and how the
//! connections are carried (`tls`).

pub mod access;
pub mod compliance;
pub mod convert;
pub mod operations;
pub mod registry;
pub mod screening;
pub mod tls;

/// The gRPC edge's live, reloadable parts: the client table and the served certificate.
pub struct GrpcEdge {
    pub access: std::sync::Arc<access::AccessControl>,
    pub certificate: Option<std::sync::Arc<tls::CertificateSlot>>,
    pub metrics: std::sync::Arc<crate::metrics::EdgeMetrics>,
}

impl GrpcEdge {
    /// Puts a reloaded `[[clients]]`/`[limits]`/`[tls]` in force, with the certificate the reload
    /// read and validated (a renewal replaces the files, not the config; a reload whose certificate
    /// does not validate is refused as a whole, so the old one stays in service).
    pub fn apply(&self, config: &crate::config::access::AccessConfig) {
        self.access.replace(config);
        if let (Some(slot), Some(served)) = (&self.certificate, &config.tls) {
            self.metrics
                .tls_cert_expiry
                .set(served.certificate.not_after_s as f64);
            slot.replace(served.certificate.clone());
        }
    }
}

/// The encoded descriptor set of proto/portcullis/v1, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/portcullis_descriptor.bin"));
