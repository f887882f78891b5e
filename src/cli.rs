//! The command line of API.md ("Command line and files"): `serve` and `check-config` in this
//! version. Flags are a contract: scripts and operators depend on them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{ConfigSource, Overrides};

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Carrier-side streaming spam filter for port-type (A2P) SMS"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon (embedded defaults when no --config is given).
    Serve(ServeArgs),
    /// Validate a configuration: every error at once; exit 0 valid, 78 invalid.
    CheckConfig(CheckConfigArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Main configuration file (TOML); embedded defaults when absent.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// gRPC listen address; port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT")]
    pub grpc_addr: Option<String>,
    /// Prometheus /metrics listen address; port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,
    /// Where durable state lives (created on first start).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Sender registry file (TOML), instead of the one the config names.
    #[arg(long, value_name = "FILE")]
    pub senders: Option<PathBuf>,
    /// Kafka bootstrap servers (Kafka ingress arrives with the Kafka issue; refused until then).
    #[arg(long, value_name = "HOST:PORT[,...]")]
    pub kafka_brokers: Option<String>,
    /// Kafka consumer group id.
    #[arg(long, value_name = "ID")]
    pub kafka_group: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckConfigArgs {
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[arg(long, value_name = "FILE")]
    pub senders: Option<PathBuf>,
}

impl ServeArgs {
    pub fn source(&self) -> ConfigSource {
        ConfigSource {
            config_path: self.config.clone(),
            overrides: Overrides {
                grpc_addr: self.grpc_addr.clone(),
                metrics_addr: self.metrics_addr.clone(),
                data_dir: self.data_dir.clone(),
                senders: self.senders.clone(),
            },
        }
    }
}

impl CheckConfigArgs {
    pub fn source(&self) -> ConfigSource {
        ConfigSource {
            config_path: self.config.clone(),
            overrides: Overrides {
                senders: self.senders.clone(),
                ..Overrides::default()
            },
        }
    }
}
