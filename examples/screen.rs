//! A gateway's call, as the README shows it: screens one message against a running daemon.
//!
//! cargo run --example screen -- [--target HOST:PORT] PORT MSISDN TEXT

use portcullis::proto::ScreenRequest;
use portcullis::proto::screening_client::ScreeningClient;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut target = "127.0.0.1:50051".to_owned();
    if args.first().map(String::as_str) == Some("--target") && args.len() > 1 {
        target = args.remove(1);
        args.remove(0);
    }
    let [port, msisdn, text] = <[String; 3]>::try_from(args)
        .map_err(|_| "usage: screen [--target HOST:PORT] PORT MSISDN TEXT")?;
    let mut client = ScreeningClient::connect(format!("http://{target}")).await?;
    let request = ScreenRequest {
        message_id: format!("example-{}", std::process::id()),
        sender_port: port,
        msisdn,
        text,
        ..Default::default()
    };
    match client.screen(request).await {
        Ok(decision) => println!("{:#?}", decision.into_inner()),
        Err(status) => println!("{:?}: {}", status.code(), status.message()),
    }
    Ok(())
}
