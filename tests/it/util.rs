//! Starts a real daemon in-process (`server::run` on 127.0.0.1:0) with a manual clock and an
//! in-memory registry the test fills directly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use portcullis::clock::ManualClock;
use portcullis::config::{self, ConfigSource, Overrides};
use portcullis::domain::{Category, CategorySet, Msisdn};
use portcullis::proto::screening_client::ScreeningClient;
use portcullis::proto::{Decision, ScreenRequest};
use portcullis::region::RegionTable;
use portcullis::registry::{Consent, InMemoryRegistry};
use portcullis::server::{self, Deps, Listeners};
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub fn regions() -> Arc<RegionTable> {
    static REGIONS: OnceLock<Arc<RegionTable>> = OnceLock::new();
    Arc::clone(
        REGIONS.get_or_init(|| {
            Arc::new(RegionTable::embedded().expect("embedded region table loads"))
        }),
    )
}

/// 10:00 in Shanghai on a Monday: inside every sending window.
pub fn office_hours() -> Timestamp {
    "2026-11-23T02:00:00Z".parse().unwrap()
}

pub struct TestDaemon {
    pub grpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub clock: Arc<ManualClock>,
    pub registry: Arc<InMemoryRegistry>,
    pub client: ScreeningClient<Channel>,
    pub dir: tempfile::TempDir,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), server::ServeError>>>,
}

#[derive(Default)]
pub struct DaemonOptions {
    /// Main config text written to `<dir>/portcullis.toml`; None = embedded defaults.
    pub config: Option<String>,
    /// Files written next to the config before start (name, contents).
    pub files: Vec<(String, String)>,
    /// An existing data dir (a restart); None = a fresh one inside the daemon's temp dir.
    pub data_dir: Option<PathBuf>,
    /// Where the manual clock starts; None = `office_hours()`.
    pub start_at: Option<Timestamp>,
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

impl TestDaemon {
    pub async fn start() -> TestDaemon {
        TestDaemon::start_with(DaemonOptions::default()).await
    }

    pub async fn start_with(opts: DaemonOptions) -> TestDaemon {
        let dir = tempfile::tempdir().unwrap();
        for (name, contents) in &opts.files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, contents).unwrap();
        }
        let config_path = opts.config.as_ref().map(|text| {
            let p = dir.path().join("portcullis.toml");
            std::fs::write(&p, text).unwrap();
            p
        });
        let source = ConfigSource {
            config_path,
            overrides: Overrides {
                grpc_addr: Some("127.0.0.1:0".into()),
                metrics_addr: Some("127.0.0.1:0".into()),
                data_dir: Some(
                    opts.data_dir
                        .clone()
                        .unwrap_or_else(|| dir.path().join("data")),
                ),
                senders: None,
                kafka_brokers: None,
                kafka_group: None,
            },
        };
        let config =
            config::load(&source, &regions()).unwrap_or_else(|e| panic!("config invalid: {e:?}"));
        let listeners = Listeners::bind(config.server.grpc_addr, config.server.metrics_addr)
            .await
            .unwrap();
        let grpc_addr = listeners.grpc.local_addr().unwrap();
        let metrics_addr = listeners.metrics.local_addr().unwrap();
        let clock = Arc::new(ManualClock::new(opts.start_at.unwrap_or_else(office_hours)));
        let registry = Arc::new(InMemoryRegistry::new());
        let deps = Deps {
            clock: clock.clone(),
            registry: registry.clone(),
            regions: regions(),
        };
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(server::run(config, listeners, deps, async move {
            let _ = rx.await;
        }));
        // With [tls] a plaintext client cannot connect; TLS tests make their own channels.
        let tls = opts.config.as_deref().is_some_and(|c| c.contains("[tls]"));
        let client = if tls {
            ScreeningClient::new(
                tonic::transport::Endpoint::from_shared(format!("http://{grpc_addr}"))
                    .unwrap()
                    .connect_lazy(),
            )
        } else {
            connect(grpc_addr).await
        };
        TestDaemon {
            grpc_addr,
            metrics_addr,
            clock,
            registry,
            client,
            dir,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub async fn screen(&self, req: ScreenRequest) -> Decision {
        self.client
            .clone()
            .screen(req)
            .await
            .unwrap_or_else(|s| panic!("screen failed: {s:?}"))
            .into_inner()
    }

    pub async fn screen_status(&self, req: ScreenRequest) -> Result<Decision, tonic::Status> {
        self.client
            .clone()
            .screen(req)
            .await
            .map(tonic::Response::into_inner)
    }

    pub fn consent(&self, msisdn: &str, enterprise: &str, id: &str, scope: &[Category]) {
        self.registry.record_consent(
            Msisdn::parse(msisdn).unwrap(),
            enterprise,
            Consent {
                consent_id: Arc::from(id),
                scope: CategorySet::of(scope),
                granted_at: "2026-01-01T00:00:00Z".parse().unwrap(),
                expires_at: None,
                revoked_at: None,
            },
        );
    }

    /// A gRPC channel to the daemon, for the services beside Screening.
    pub async fn channel(&self) -> Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.grpc_addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn scrape(&self) -> String {
        http_get(self.metrics_addr, "/metrics").await
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

pub async fn connect(addr: SocketAddr) -> ScreeningClient<Channel> {
    let endpoint = format!("http://{addr}");
    for _ in 0..50 {
        if let Ok(c) = ScreeningClient::connect(endpoint.clone()).await {
            return c;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("daemon at {addr} did not accept connections");
}

/// A plain HTTP/1.1 GET, as a Prometheus scrape does it.
pub async fn http_get(addr: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "scrape failed: {body}");
    body
}

/// The value of one metric series in a scrape (`name{labels}` as rendered), 0 when absent.
pub fn metric_value(scrape: &str, series_prefix: &str, label_parts: &[&str]) -> f64 {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(series_prefix))
        .filter(|l| label_parts.iter().all(|p| l.contains(p)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub fn request(port: &str, msisdn: &str, text: &str) -> ScreenRequest {
    let n = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ScreenRequest {
        message_id: format!("m-{n}"),
        sender_port: port.into(),
        msisdn: msisdn.into(),
        text: text.into(),
        ..Default::default()
    }
}

pub fn reasons(d: &Decision) -> Vec<portcullis::proto::ReasonCode> {
    d.reasons.iter().map(|r| r.code()).collect()
}

/// Demo sender ports (config/senders.toml).
pub const CMB: &str = "10690001234";
pub const JD: &str = "1069009527";
pub const SF: &str = "106900888";
pub const LOAN: &str = "1069077777";
pub const COLLECT: &str = "1069066666";
pub const EMERGENCY: &str = "12110";

/// The real `portcullis` binary as a child process on 127.0.0.1:0, for crash tests.
pub struct DaemonProcess {
    pub child: std::process::Child,
    pub grpc_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    /// Every line the daemon wrote to stderr (its log), for tests that check what it logs.
    pub log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl DaemonProcess {
    pub fn spawn(data_dir: &Path) -> DaemonProcess {
        DaemonProcess::spawn_with(data_dir, &[])
    }

    /// With more `serve` flags (e.g. `--config`, `--kafka-brokers`).
    pub fn spawn_with(data_dir: &Path, extra: &[&str]) -> DaemonProcess {
        DaemonProcess::spawn_env(data_dir, extra, &[])
    }

    /// With environment variables set for the daemon (e.g. `RUST_LOG`).
    pub fn spawn_env(data_dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> DaemonProcess {
        use std::io::{BufRead, BufReader};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args([
                "serve",
                "--grpc-addr",
                "127.0.0.1:0",
                "--metrics-addr",
                "127.0.0.1:0",
                "--data-dir",
            ])
            .arg(data_dir)
            .args(extra)
            .envs(env.iter().copied())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let lines = Arc::clone(&log);
        std::thread::spawn(move || {
            let mut sent = false;
            let mut metrics = String::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("PORTCULLIS_TEST_DAEMON_LOG").is_some() {
                    eprintln!("daemon: {line}");
                }
                lines.lock().unwrap().push(line.clone());
                if let Some(addr) = line.split("metrics listening on ").nth(1) {
                    metrics = addr.trim().to_owned();
                }
                if !sent && let Some(addr) = line.split("grpc listening on ").nth(1) {
                    let _ = tx.send(Ok((addr.trim().to_owned(), metrics.clone())));
                    sent = true;
                }
                if !sent
                    && (line.contains("ERROR")
                        || line.contains("error:")
                        || line.contains("configuration invalid"))
                {
                    let _ = tx.send(Err(line.clone()));
                    sent = true;
                }
            }
            if !sent {
                let _ = tx.send(Err("the daemon exited before listening".to_owned()));
            }
        });
        let (grpc, metrics) = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("daemon start")
            .expect("daemon start");
        DaemonProcess {
            child,
            grpc_addr: grpc.parse().unwrap(),
            metrics_addr: metrics.parse().unwrap(),
            log,
        }
    }

    /// SIGTERM: the graceful stop (drain, commit, flush); waits for the exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM {pid}");
        self.child.wait().unwrap()
    }

    /// SIGKILL: no drain, no flush.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    pub async fn channel(&self) -> tonic::transport::Channel {
        let endpoint =
            tonic::transport::Endpoint::from_shared(format!("http://{}", self.grpc_addr)).unwrap();
        for _ in 0..50 {
            if let Ok(c) = endpoint.connect().await {
                return c;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        panic!("daemon at {} did not accept connections", self.grpc_addr);
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// 64 hex characters standing for the SHA-256 of a consent proof.
pub fn proof_hash(n: u32) -> String {
    format!("{n:064x}")
}
