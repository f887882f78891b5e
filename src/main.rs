//! The `portcullis` binary: parses the command line, starts logging and hands over to the library.
//! The only home of `anyhow`.
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use portcullis::admin::{self, Outcome};
use portcullis::cli::{AdminCommand, Cli, Command, LoadgenArgs, TokenCommand, TokenNewArgs};
use portcullis::clock::SystemClock;
use portcullis::config::{self, ConfigError, LogFormat};
use portcullis::region::RegionTable;
use portcullis::registry::InMemoryRegistry;
use portcullis::server::{self, Deps, Listeners};
use portcullis::training;

/// sysexits.h EX_CONFIG: the configuration is invalid.
const EX_CONFIG: u8 = 78;
/// Operator commands: a finding (broken audit chain, rejected opt-out lines).
const EX_FINDING: u8 = 1;
/// Operator commands: a usage, I/O or RPC error (clap's own usage errors exit 2 too).
const EX_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    admin::use_credentials(admin::Credentials {
        token: cli.token,
        ca: cli.ca,
    });
    match cli.command {
        Command::Admin(command) => Ok(run_admin(command)),
        Command::Token(TokenCommand::New(args)) => Ok(new_token(&args)),
        Command::Loadgen(args) => Ok(loadgen(&args)),
        Command::Train(args) => Ok(ExitCode::from(training::cli::train(&args))),
        Command::Eval(args) => Ok(ExitCode::from(training::cli::eval(&args))),
        Command::CheckConfig(args) => match config::load(&args.source(), &embedded_regions()?) {
            Ok(config) => {
                println!(
                    "configuration valid: {} senders, {} rules",
                    config.snapshot.senders.len(),
                    config.snapshot.rules.rule_count()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(errors) => Ok(report_invalid(&errors)),
        },
        Command::Serve(args) => {
            let regions = embedded_regions()?;
            let config = match config::load(&args.source(), &regions) {
                Ok(c) => c,
                Err(errors) => return Ok(report_invalid(&errors)),
            };
            init_tracing(config.server.log_format);
            std::fs::create_dir_all(&config.server.data_dir)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let shutdown = shutdown_signal()?;
                let listeners =
                    Listeners::bind(config.server.grpc_addr, config.server.metrics_addr).await?;
                let deps = Deps {
                    clock: Arc::new(SystemClock),
                    registry: Arc::new(InMemoryRegistry::new()),
                    regions,
                };
                server::run(config, listeners, deps, shutdown).await?;
                Ok::<_, anyhow::Error>(())
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn embedded_regions() -> anyhow::Result<Arc<RegionTable>> {
    Ok(Arc::new(RegionTable::embedded()?))
}

/// A runtime for a client command, or the exit code saying why there is none.
fn client_runtime(
    builder: &mut tokio::runtime::Builder,
) -> Result<tokio::runtime::Runtime, ExitCode> {
    builder.enable_all().build().map_err(|e| {
        eprintln!("error: runtime: {e}");
        ExitCode::from(EX_ERROR)
    })
}

fn loadgen(args: &LoadgenArgs) -> ExitCode {
    // Two workers: the client must not be what limits the numbers on a small machine.
    let runtime =
        match client_runtime(tokio::runtime::Builder::new_multi_thread().worker_threads(2)) {
            Ok(r) => r,
            Err(code) => return code,
        };
    let stdout = std::io::stdout();
    match runtime.block_on(portcullis::loadgen::run(args, &mut stdout.lock())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EX_ERROR)
        }
    }
}

fn new_token(args: &TokenNewArgs) -> ExitCode {
    use portcullis::ingress::grpc::access::Role;
    let bad: Vec<&String> = args
        .roles
        .iter()
        .filter(|r| Role::parse(r).is_none())
        .collect();
    if !bad.is_empty() {
        eprintln!("error: --role {bad:?}: roles are gateway, registry, compliance, operator");
        return ExitCode::from(EX_ERROR);
    }
    match portcullis::ingress::grpc::access::new_token() {
        Ok((token, hash)) => {
            let roles: Vec<String> = args.roles.iter().map(|r| format!("{r:?}")).collect();
            println!("# give this token to the client; it is not stored anywhere");
            println!("# token: {token}");
            println!("[[clients]]");
            println!("name = {:?}", args.name);
            println!("token_sha256 = \"{hash}\"");
            println!("roles = [{}]", roles.join(", "));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: no randomness for a token: {e}");
            ExitCode::from(EX_ERROR)
        }
    }
}

/// The operator commands on a current-thread runtime: 0 clean, 1 a finding, 2 an error.
fn run_admin(command: AdminCommand) -> ExitCode {
    let runtime = match client_runtime(&mut tokio::runtime::Builder::new_current_thread()) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match runtime.block_on(admin::run(command, &mut out)) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Finding) => ExitCode::from(EX_FINDING),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EX_ERROR)
        }
    }
}

fn report_invalid(errors: &[ConfigError]) -> ExitCode {
    for e in errors {
        eprintln!("{e}");
    }
    eprintln!("configuration invalid: {} error(s)", errors.len());
    ExitCode::from(EX_CONFIG)
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Installs the SIGTERM/SIGINT handlers now — before anything is bound and logged, so a signal
/// sent as soon as the listen lines appear is a graceful stop, not the default kill — and returns
/// the future that resolves on the first of them.
#[cfg(unix)]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
