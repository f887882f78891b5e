//! Access control, TLS and overload through the real server: a TLS listener on 127.0.0.1:0 with a
//! certificate from a test CA, four clients (one per role), the generated gRPC clients.

use std::time::Duration;

use portcullis::proto::complaints_client::ComplaintsClient;
use portcullis::proto::compliance_client::ComplianceClient;
use portcullis::proto::operations_client::OperationsClient;
use portcullis::proto::registry_client::RegistryClient;
use portcullis::proto::screening_client::ScreeningClient;
use portcullis::proto::{
    Complaint, ListThrottlesRequest, MoReply, OptOutRequest, VerifyAuditRequest,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use sha2::{Digest, Sha256};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::util::{DaemonOptions, TestDaemon, metric_value, request};

const JD_PORT: &str = "1069009527";
const SUB: &str = "13800138000";

struct TestCa {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "portcullis test ca");
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        TestCa {
            pem,
            issuer: Issuer::new(params, key),
        }
    }

    /// A server certificate for localhost and 127.0.0.1: (cert PEM, key PEM).
    fn server_cert(&self, cn: &str, not_after_year: i32) -> (String, String) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(not_after_year, 1, 1);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

fn sha256_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

const ROLES: [&str; 4] = ["gateway", "registry", "compliance", "operator"];

fn token(role: &str) -> String {
    format!("test-token-{role}")
}

/// A port free a moment ago (for the health listener, whose address the test must know).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The main config: TLS, a plaintext health listener on `health_port`, one client per role, a
/// slow client, a small request limit.
fn config(health_port: u16) -> String {
    let mut text = format!(
        "[server]\nhealth_addr = \"127.0.0.1:{health_port}\"\n\n[tls]\ncert = \"tls/server.crt\"\nkey = \"tls/server.key\"\n\n[limits]\nmax_request_bytes = 4096\n\n",
    );
    for role in ROLES {
        text.push_str(&format!(
            "[[clients]]\nname = \"{role}-client\"\ntoken_sha256 = \"{}\"\nroles = [\"{role}\"]\n\n",
            sha256_hex(&token(role))
        ));
    }
    text.push_str(&format!(
        "[[clients]]\nname = \"slow\"\ntoken_sha256 = \"{}\"\nroles = [\"gateway\"]\nrate_per_sec = 1\nburst = 3\n",
        sha256_hex("slow-token")
    ));
    text
}

async fn start(ca: &TestCa) -> TestDaemon {
    start_with_health(ca, free_port()).await
}

async fn start_with_health(ca: &TestCa, health_port: u16) -> TestDaemon {
    let (cert, key) = ca.server_cert("first", 2099);
    TestDaemon::start_with(DaemonOptions {
        config: Some(config(health_port)),
        files: vec![
            ("tls/server.crt".into(), cert),
            ("tls/server.key".into(), key),
        ],
        ..Default::default()
    })
    .await
}

async fn tls_channel(daemon: &TestDaemon, ca: &TestCa) -> Channel {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&ca.pem))
        .domain_name("localhost");
    Endpoint::from_shared(format!("https://{}", daemon.grpc_addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn with_auth<T>(message: T, authorization: Option<&str>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    if let Some(value) = authorization {
        req.metadata_mut()
            .insert("authorization", value.parse().unwrap());
    }
    req
}

/// One call of each guarded method group; the status code it got (`Ok` on success).
async fn call(channel: &Channel, method: &str, authorization: Option<&str>) -> Code {
    let code = |r: Result<(), tonic::Status>| r.err().map_or(Code::Ok, |s| s.code());
    let c = channel.clone();
    match method {
        "Screening.Screen" => code(
            ScreeningClient::new(c)
                .screen(with_auth(
                    request(JD_PORT, SUB, "【京东】您的验证码是 123456，5分钟内有效。"),
                    authorization,
                ))
                .await
                .map(drop),
        ),
        "Registry.HandleReply" => code(
            RegistryClient::new(c)
                .handle_reply(with_auth(
                    MoReply {
                        msisdn: SUB.into(),
                        sender_port: JD_PORT.into(),
                        text: "你好".into(),
                        ..Default::default()
                    },
                    authorization,
                ))
                .await
                .map(drop),
        ),
        "Complaints.Report" => code(
            ComplaintsClient::new(c)
                .report(with_auth(
                    Complaint {
                        msisdn: SUB.into(),
                        sender_port: JD_PORT.into(),
                        source: "12321".into(),
                        ..Default::default()
                    },
                    authorization,
                ))
                .await
                .map(drop),
        ),
        "Registry.OptOut" => code(
            RegistryClient::new(c)
                .opt_out(with_auth(
                    OptOutRequest {
                        msisdn: SUB.into(),
                        enterprise_id: "ent-jd".into(),
                        ..Default::default()
                    },
                    authorization,
                ))
                .await
                .map(drop),
        ),
        "Compliance.VerifyAudit" => code(
            ComplianceClient::new(c)
                .verify_audit(with_auth(VerifyAuditRequest::default(), authorization))
                .await
                .map(drop),
        ),
        "Operations.ListThrottles" => code(
            OperationsClient::new(c)
                .list_throttles(with_auth(ListThrottlesRequest::default(), authorization))
                .await
                .map(drop),
        ),
        other => panic!("no call for {other}"),
    }
}

/// Which role each method needs (the table).
const METHODS: [(&str, &str); 6] = [
    ("Screening.Screen", "gateway"),
    ("Registry.HandleReply", "gateway"),
    ("Complaints.Report", "gateway"),
    ("Registry.OptOut", "registry"),
    ("Compliance.VerifyAudit", "compliance"),
    ("Operations.ListThrottles", "operator"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_reaches_its_services_and_only_those_over_tls() {
    let ca = TestCa::new();
    let health_port = free_port();
    let daemon = start_with_health(&ca, health_port).await;
    let channel = tls_channel(&daemon, &ca).await;
    for role in ROLES {
        let auth = format!("Bearer {}", token(role));
        for (method, needs) in METHODS {
            let got = call(&channel, method, Some(&auth)).await;
            if role == needs {
                assert_eq!(got, Code::Ok, "{role} calling {method}");
            } else {
                assert_eq!(got, Code::PermissionDenied, "{role} calling {method}");
            }
        }
    }
    // Health needs no token (probes), over the same TLS listener.
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    let status = health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    // And on the plaintext health listener (for the kubelet's probe, which cannot do TLS); that
    // listener serves nothing else.
    let probe = Endpoint::from_shared(format!("http://127.0.0.1:{health_port}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let status = tonic_health::pb::health_client::HealthClient::new(probe.clone())
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status.status,
        tonic_health::pb::health_check_response::ServingStatus::Serving as i32
    );
    assert_eq!(
        call(
            &probe,
            "Screening.Screen",
            Some(&format!("Bearer {}", token("gateway")))
        )
        .await,
        Code::Unimplemented
    );
    // The one compliance query that was let through is in the audit trail under its client.
    let audited =
        crate::compliance_audit::compliance_records(&daemon.dir.path().join("data")).await;
    let clients: Vec<(&str, &str)> = audited
        .iter()
        .map(|(_, e)| {
            let (client, method, _) = crate::compliance_audit::filter(e);
            (client, method)
        })
        .collect();
    assert_eq!(clients.len(), 1, "{clients:?}");
    assert_eq!(clients[0].0, "compliance-client");
    assert!(clients[0].1.contains("VerifyAudit"), "{clients:?}");
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_malformed_and_unknown_tokens_are_unauthenticated_and_others_are_still_served() {
    let ca = TestCa::new();
    let daemon = start(&ca).await;
    let channel = tls_channel(&daemon, &ca).await;
    let gateway = format!("Bearer {}", token("gateway"));
    for (auth, what) in [
        (None, "no token"),
        (Some("Basic Z2F0ZXdheTpzZWNyZXQ="), "another scheme"),
        (Some("Bearer "), "an empty token"),
        (Some("Bearer two words"), "a token with a space"),
        (Some("Bearer not-a-client"), "an unknown token"),
    ] {
        for (method, _) in METHODS {
            assert_eq!(
                call(&channel, method, auth).await,
                Code::Unauthenticated,
                "{what} calling {method}"
            );
        }
        assert_eq!(
            call(&channel, "Screening.Screen", Some(&gateway)).await,
            Code::Ok,
            "a good client right after {what}"
        );
    }
    // The plaintext token of the config is not a token: only its hash is stored.
    let hash_as_token = format!("Bearer {}", sha256_hex(&token("gateway")));
    assert_eq!(
        call(&channel, "Screening.Screen", Some(&hash_as_token)).await,
        Code::Unauthenticated
    );
    // A plaintext client cannot talk to the TLS listener at all.
    let plain = Endpoint::from_shared(format!("http://{}", daemon.grpc_addr))
        .unwrap()
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(2))
        .connect_lazy();
    assert_ne!(
        call(&plain, "Screening.Screen", Some(&gateway)).await,
        Code::Ok
    );
    let scrape = daemon.scrape().await;
    assert!(
        metric_value(
            &scrape,
            "portcullis_access_denied_total",
            &["code=\"unauthenticated\""]
        ) >= 30.0
    );
    assert!(metric_value(&scrape, "portcullis_tls_handshake_failures_total", &[]) >= 1.0);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_request_and_a_client_over_its_rate_are_resource_exhausted() {
    let ca = TestCa::new();
    let daemon = start(&ca).await;
    let channel = tls_channel(&daemon, &ca).await;
    let gateway = format!("Bearer {}", token("gateway"));
    // 1,500 CJK characters are 4,500 bytes: over the 4,096-byte limit, under max_text_chars.
    let big = request(JD_PORT, SUB, &"验".repeat(1500));
    let status = ScreeningClient::new(channel.clone())
        .screen(with_auth(big, Some(&gateway)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("too large"), "{status:?}");
    assert_eq!(
        call(&channel, "Screening.Screen", Some(&gateway)).await,
        Code::Ok
    );

    // `slow` may make 3 calls at once, then 1 a second.
    let slow = Some("Bearer slow-token");
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(call(&channel, "Screening.Screen", slow).await);
    }
    assert_eq!(&codes[..3], &[Code::Ok; 3]);
    assert!(codes[3..].contains(&Code::ResourceExhausted), "{codes:?}");
    // Others are not slowed by it.
    assert_eq!(
        call(&channel, "Screening.Screen", Some(&gateway)).await,
        Code::Ok
    );
    let scrape = daemon.scrape().await;
    for limit in ["request_size", "client_rate"] {
        assert!(
            metric_value(
                &scrape,
                "portcullis_limit_hits_total",
                &[&format!("limit=\"{limit}\"")]
            ) >= 1.0,
            "{limit}"
        );
    }
    daemon.stop().await;
}

/// The certificate the server presents to a fresh TLS handshake.
#[allow(deprecated)] // rustls' ring provider, as the daemon uses (see src/ingress/grpc/tls.rs)
async fn presented_certificate(daemon: &TestDaemon, ca: &TestCa) -> Vec<u8> {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    let ca_der = rustls_pki_types::pem::PemObject::from_pem_slice(ca.pem.as_bytes()).unwrap();
    roots.add(ca_der).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(daemon.grpc_addr)
        .await
        .unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0].to_vec()
}

fn der_of(pem: &str) -> Vec<u8> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    CertificateDer::from_pem_slice(pem.as_bytes())
        .unwrap()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_refused_and_a_renewed_one_is_served_without_a_restart() {
    let ca = TestCa::new();
    let daemon = start(&ca).await;
    let tls_dir = daemon.dir.path().join("tls");
    let first = presented_certificate(&daemon, &ca).await;

    // An expired certificate dropped in place: the reload is refused, the old one keeps serving.
    let (expired, expired_key) = ca.server_cert("expired", 2021);
    std::fs::write(tls_dir.join("server.key"), &expired_key).unwrap();
    std::fs::write(tls_dir.join("server.crt"), &expired).unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(presented_certificate(&daemon, &ca).await, first);
    let channel = tls_channel(&daemon, &ca).await;
    let gateway = format!("Bearer {}", token("gateway"));
    assert_eq!(
        call(&channel, "Screening.Screen", Some(&gateway)).await,
        Code::Ok
    );
    // check-config says why.
    let source = portcullis::config::ConfigSource {
        config_path: Some(daemon.dir.path().join("portcullis.toml")),
        overrides: Default::default(),
    };
    let errors = portcullis::config::load(&source, &crate::util::regions())
        .err()
        .expect("an expired certificate is a config error");
    assert!(
        errors
            .iter()
            .any(|e| e.path == "tls.cert" && e.message.contains("expired")),
        "{errors:?}"
    );

    // A renewed certificate: new handshakes get it, with no restart.
    let (renewed, renewed_key) = ca.server_cert("renewed", 2099);
    std::fs::write(tls_dir.join("server.key"), &renewed_key).unwrap();
    std::fs::write(tls_dir.join("server.crt"), &renewed).unwrap();
    let mut presented = Vec::new();
    for _ in 0..50 {
        presented = presented_certificate(&daemon, &ca).await;
        if presented == der_of(&renewed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(presented, der_of(&renewed));
    assert_eq!(
        call(
            &tls_channel(&daemon, &ca).await,
            "Screening.Screen",
            Some(&gateway)
        )
        .await,
        Code::Ok
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_store_queue_is_refused_at_once_and_the_daemon_recovers() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        config: Some("[store]\nwrite_queue = 16\n".into()),
        ..Default::default()
    })
    .await;
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..2000 {
        let mut client = daemon.client.clone();
        let msisdn = format!("139{:08}", i);
        calls.spawn(async move {
            let started = std::time::Instant::now();
            let r = client
                .screen(request(JD_PORT, &msisdn, "【京东】您的验证码是 123456。"))
                .await;
            (r.map(drop).map_err(|s| s.code()), started.elapsed())
        });
    }
    let (mut ok, mut exhausted, mut slowest_refusal) = (0, 0, Duration::ZERO);
    while let Some(joined) = calls.join_next().await {
        match joined.unwrap() {
            (Ok(()), _) => ok += 1,
            (Err(Code::ResourceExhausted), took) => {
                exhausted += 1;
                slowest_refusal = slowest_refusal.max(took);
            }
            (Err(other), _) => panic!("unexpected status {other:?}"),
        }
    }
    assert!(ok > 0 && exhausted > 0, "ok {ok}, refused {exhausted}");
    eprintln!(
        "burst: {ok} screened, {exhausted} refused; slowest refusal incl. client-side queueing {slowest_refusal:?}"
    );
    // Recovery: once the burst is over, every message is screened, as a gateway retrying with a
    // short backoff sees it (a 16-deep queue can still be full for a moment during a commit).
    tokio::time::sleep(Duration::from_millis(200)).await;
    for i in 0..20 {
        let msisdn = format!("137{:08}", i);
        let mut attempts = 0;
        loop {
            attempts += 1;
            match daemon
                .screen_status(request(JD_PORT, &msisdn, "【京东】您的验证码是 654321。"))
                .await
            {
                Ok(_) => break,
                Err(s) if s.code() == Code::ResourceExhausted && attempts < 50 => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(s) => panic!("not recovered after {attempts} attempts: {s:?}"),
            }
        }
    }
    let scrape = daemon.scrape().await;
    assert!(
        metric_value(
            &scrape,
            "portcullis_limit_hits_total",
            &["limit=\"screen_queue\""]
        ) >= 1.0
    );
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_at_its_stream_limit_makes_the_next_call_wait_and_counts_it() {
    let daemon = TestDaemon::start_with(DaemonOptions {
        config: Some("[limits]\nmax_concurrent_streams = 2\n".into()),
        ..Default::default()
    })
    .await;
    let hits = |scrape: &str| {
        metric_value(
            scrape,
            "portcullis_limit_hits_total",
            &["limit=\"concurrent_streams\""],
        )
    };
    let before = hits(&daemon.scrape().await);
    let channel = daemon.channel().await;
    let mut open = Vec::new();
    for i in 0..2 {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.send(request(
            JD_PORT,
            &format!("1380013800{i}"),
            "【京东】验证码：552901。",
        ))
        .await
        .unwrap();
        let mut answers = ScreeningClient::new(channel.clone())
            .screen_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        answers.message().await.unwrap().expect("a decision");
        open.push((tx, answers));
    }
    assert!(hits(&daemon.scrape().await) >= before + 1.0);
    // A third call on the same connection waits for a free stream...
    let mut third = ScreeningClient::new(channel.clone());
    let waiting = tokio::spawn(async move {
        third
            .screen(request(JD_PORT, SUB, "【京东】验证码：552901。"))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the third stream did not wait");
    // ...and goes through once one closes.
    drop(open.pop());
    let answered = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .expect("the waiting call went through")
        .unwrap();
    assert!(answered.is_ok(), "{answered:?}");
    drop(open);
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_takes_a_token_and_a_ca() {
    let ca = TestCa::new();
    let daemon = start(&ca).await;
    let ca_file = daemon.dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let target = format!("localhost:{}", daemon.grpc_addr.port());
    let run = move |token: Option<String>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"));
        cmd.args(["throttle", "status", "--target", &target, "--ca"])
            .arg(&ca_file)
            .env_remove("PORTCULLIS_TOKEN");
        if let Some(t) = token {
            cmd.args(["--token", &t]);
        }
        cmd.output().unwrap()
    };
    let ok = tokio::task::spawn_blocking({
        let run = run.clone();
        move || run(Some(token("operator")))
    })
    .await
    .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    for (token, expect) in [
        (None, "Unauthenticated"),
        (Some(token("gateway")), "PermissionDenied"),
    ] {
        let run = run.clone();
        let out = tokio::task::spawn_blocking(move || run(token))
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(expect), "{stderr}");
    }
    daemon.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loadgen_drives_a_tls_daemon_and_reports_refusals_by_code() {
    let ca = TestCa::new();
    let daemon = start(&ca).await;
    let ca_file = daemon.dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.pem).unwrap();
    let target = format!("localhost:{}", daemon.grpc_addr.port());
    let run = move |mode: &str, token: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["loadgen", "--target", &target, "--mode", mode])
            .args(["--messages", "300", "--concurrency", "3", "--token", token])
            .arg("--ca")
            .arg(&ca_file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let last = stdout.lines().last().unwrap().to_owned();
        serde_json::from_str::<serde_json::Value>(&last).unwrap()
    };
    let gateway = token("gateway");
    for mode in ["unary", "stream"] {
        let (run, gateway) = (run.clone(), gateway.clone());
        let summary = tokio::task::spawn_blocking(move || run(mode, &gateway))
            .await
            .unwrap();
        assert_eq!(summary["mode"], mode, "{summary}");
        assert_eq!(summary["messages"], 300, "{summary}");
        assert_eq!(summary["errors"], 0, "{summary}");
        assert!(summary["p99_us"].as_u64().unwrap() >= summary["p50_us"].as_u64().unwrap());
    }
    // The operator may not screen: every call is refused and counted by its code.
    let operator = token("operator");
    let summary = tokio::task::spawn_blocking(move || run("unary", &operator))
        .await
        .unwrap();
    assert_eq!(summary["errors"], 300, "{summary}");
    assert_eq!(
        summary["errors_by_code"]["PermissionDenied"], 300,
        "{summary}"
    );
    daemon.stop().await;
}
