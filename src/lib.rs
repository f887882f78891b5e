pub mod proto {
    tonic::include_proto!("portcullis.v1");
}
