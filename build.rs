//! Compiles proto/portcullis/v1 with protox (pure Rust, so no protoc is needed on any machine) and
//! generates the tonic services; the encoded descriptor set feeds gRPC server reflection.

use prost::Message;

const PROTOS: &[&str] = &[
    "portcullis/v1/common.proto",
    "portcullis/v1/screening.proto",
    "portcullis/v1/registry.proto",
    "portcullis/v1/complaints.proto",
    "portcullis/v1/compliance.proto",
    "portcullis/v1/operations.proto",
    "portcullis/v1/kafka.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let fds = protox::compile(PROTOS, ["proto"])?;
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("portcullis_descriptor.bin"),
        fds.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
