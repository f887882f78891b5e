//! The alerts and the Grafana dashboard against a real Prometheus (Debian's `prometheus`, installed
//! by `scripts/check-deploy`; `PORTCULLIS_PROMETHEUS` / `PORTCULLIS_PROMTOOL` or PATH) scraping the
//! real daemon every second under real traffic, Kafka included (the broker `scripts/test` starts at
//! `PORTCULLIS_KAFKA_BROKERS`).
//!
//! Every query of deploy/grafana/portcullis.json and every alert of deploy/alerts.yml (as Prometheus
//! loaded it, through `rule_files`) is evaluated with /api/v1/query: it must parse and return data.
//! An alert is a condition that is empty while all is well, so its comparisons with a number are
//! stripped first (`x > 0.8` is evaluated as `x`), and every `portcullis_*` name in any expression
//! must name a series that exists: a misspelt metric fails the test. `promtool check metrics` runs on
//! a scrape of the same daemon.
//!
//! The region gauges are refreshed by the once-a-minute sweep, whose first run is at start; so the
//! complaint-rate traffic goes to a first daemon, and a second one on the same data dir rebuilds the
//! windows from the store and exports them at once.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use prost::Message as _;

use portcullis::proto::complaints_client::ComplaintsClient;
use portcullis::proto::registry_client::RegistryClient;
use portcullis::proto::screening_client::ScreeningClient;
use portcullis::proto::{self, Category, Channel, ReasonCode, Verdict};

use crate::kafka::{Topics, brokers, producer, protobuf, send};
use crate::util::*;

const MARKETING: &str = "【京东】双11狂欢返场，家电低至5折，满300减50，领券 jd.com/sale 退订回T";
const CODE: &str = "【京东】验证码：552901，用于登录京东账号，5分钟内有效。";
/// 130054xxxxx are 广东 numbers, 1380013xxxx 北京 (config/data/msisdn_prefixes.csv.gz).
fn guangdong(i: u32) -> String {
    format!("1300540{i:04}")
}
fn beijing(i: u32) -> String {
    format!("1380013{i:04}")
}

/// 广东 blocks at 1 complaint in 10 messages; every other province keeps the shipped defaults.
const THROTTLES: &str = "[window]\nhours = 24\nbucket_secs = 60\n\
[default]\nwarn_rate = 0.0003\nthrottle_rate = 0.0005\nblock_rate = 0.001\nrelease_rate = 0.0002\n\
min_messages = 10000\nmin_complaints = 5\nthrottle_msgs_per_s = 10.0\n\
[province.\"广东\"]\nwarn_rate = 0.01\nthrottle_rate = 0.02\nblock_rate = 0.05\nrelease_rate = 0.005\n\
min_messages = 10\nmin_complaints = 1\n";

/// A program from `env` or else from PATH.
fn tool(env: &str, name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(env) {
        return PathBuf::from(p);
    }
    std::env::var_os("PATH")
        .and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("{name} not found: set {env} or run scripts/check-deploy (installs Debian's prometheus)")
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Prometheus as a child process; killed on drop.
struct Prometheus {
    child: std::process::Child,
    addr: std::net::SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    async fn start(target: std::net::SocketAddr) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 rule_files:\n  - {rules}\n\
                 scrape_configs:\n  - job_name: portcullis\n    static_configs:\n      - targets: [\"{target}\"]\n",
                rules = repo_path("deploy/alerts.yml").display(),
            ),
        )
        .unwrap();
        let addr: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = std::process::Command::new(tool("PORTCULLIS_PROMETHEUS", "prometheus"))
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        let p = Prometheus {
            child,
            addr,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = get(p.addr, "/-/ready").await {
                return p;
            }
            assert!(
                Instant::now() < deadline,
                "prometheus not ready; its log:\n{}",
                std::fs::read_to_string(p._dir.path().join("prometheus.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// /api/v1/query: Err(message) when it does not parse, else the result vector.
    async fn query(&self, expr: &str) -> Result<Vec<serde_json::Value>, String> {
        let (_, body) = get(self.addr, &format!("/api/v1/query?query={}", encode(expr)))
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
        if v["status"] != "success" {
            return Err(format!("{}: {}", v["errorType"], v["error"]));
        }
        Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// HTTP/1.0 GET (no chunked bodies): status and body.
async fn get(addr: std::net::SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_owned()))
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The dashboard's queries (panel title, expr) with Grafana's variables as a dashboard showing every
/// instance would send them.
fn dashboard_queries() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(repo_path("deploy/grafana/portcullis.json")).unwrap();
    let d: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        for t in p["targets"].as_array().into_iter().flatten() {
            let expr = t["expr"]
                .as_str()
                .unwrap()
                .replace("$instance", ".*")
                .replace("$__rate_interval", "1m");
            assert!(!expr.contains('$'), "unknown variable in {expr}");
            out.push((format!("{} [{}]", p["title"], t["refId"]), expr));
        }
    }
    out
}

/// `expr` without its comparisons against a number (`> 0.8`, `== 3`, `>= bool 1`): what the
/// condition looks at.
fn strip_comparisons(expr: &str) -> String {
    let re = regex::Regex::new(r"\s*(?:>=|<=|==|!=|>|<)\s*(?:bool\s+)?-?[0-9][0-9.eE+-]*").unwrap();
    re.replace_all(expr, "").into_owned()
}

fn metric_names(expr: &str) -> Vec<String> {
    let re = regex::Regex::new(r"\bportcullis_[a-z0-9_]+").unwrap();
    let mut names: Vec<String> = re.find_iter(expr).map(|m| m.as_str().to_owned()).collect();
    names.sort();
    names.dedup();
    names
}

fn write_config(dir: &Path, topics: &Topics) -> String {
    let repo = repo_path("config");
    std::fs::write(dir.join("throttles.toml"), THROTTLES).unwrap();
    let text = format!(
        r#"[files]
senders = "{repo}/senders.toml"
rules = "{repo}/rules.toml"
throttles = "throttles.toml"

[policy]
marketing_window = "00:00-24:00"

{kafka}
"#,
        repo = repo.display(),
        kafka = topics.kafka_section(dir),
    );
    let path = dir.join("portcullis.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Phase one: consents, opt-outs, released marketing into 广东 and a complaint, so that the next
/// start finds 广东 (and ent-jd there) BLOCKED in the store.
async fn complaint_history(data: &Path, config: &str) {
    let daemon = DaemonProcess::spawn_with(data, &["--config", config]);
    let channel = daemon.channel().await;
    let mut registry = RegistryClient::new(channel.clone());
    let mut screening = ScreeningClient::new(channel.clone());
    for i in 0..20 {
        registry
            .record_consent(proto::RecordConsentRequest {
                msisdn: guangdong(i),
                enterprise_id: "ent-jd".into(),
                channel: Channel::WebForm as i32,
                evidence_ref: format!("form-{i}"),
                evidence_sha256: proof_hash(i),
                scope: vec![Category::Marketing as i32],
                ..Default::default()
            })
            .await
            .unwrap();
        let d = screening
            .screen(request(JD, &guangdong(i), MARKETING))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(d.verdict(), Verdict::Release, "consented marketing: {d:?}");
    }
    for i in 100..103 {
        registry
            .opt_out(proto::OptOutRequest {
                msisdn: guangdong(i),
                enterprise_id: "ent-jd".into(),
                channel: Channel::SmsReply as i32,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    ComplaintsClient::new(channel)
        .report(proto::Complaint {
            msisdn: guangdong(0),
            sender_port: JD.into(),
            source: "12321".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(daemon.terminate().success());
}

/// Phase two: traffic of every kind through gRPC and Kafka.
async fn traffic(daemon: &DaemonProcess, topics: &Topics) {
    let channel = daemon.channel().await;
    let mut screening = ScreeningClient::new(channel.clone());
    let d = screening
        .screen(request(JD, &guangdong(1), MARKETING))
        .await
        .unwrap()
        .into_inner();
    assert!(
        d.verdict() == Verdict::Reject && reasons(&d).contains(&ReasonCode::ReasonRegionBlocked),
        "广东 should be BLOCKED after the restart: {d:?}"
    );
    for i in 0..10 {
        let d = screening
            .screen(request(JD, &beijing(i), CODE))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(d.verdict(), Verdict::Release, "{d:?}");
    }
    let d = screening
        .screen(request("1069099999", &beijing(50), CODE))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.verdict(), Verdict::Reject, "unknown port: {d:?}");
    // Malformed: the counter's series only appears once a field was at fault.
    let _ = screening.screen(request(JD, "12345", CODE)).await;
    ComplaintsClient::new(channel)
        .report(proto::Complaint {
            msisdn: guangdong(2),
            sender_port: JD.into(),
            source: "10086".into(),
            ..Default::default()
        })
        .await
        .unwrap();

    let producer = producer();
    let submit = topics.name("submit");
    for i in 0..20 {
        let req = request(
            CMB,
            &beijing(100 + i),
            "【招商银行】您的验证码是381920，5分钟内有效。",
        );
        send(
            &producer,
            &submit,
            &req.msisdn,
            &req.encode_to_vec(),
            protobuf(),
        )
        .await;
    }
    send(
        &producer,
        &submit,
        "x",
        b"\xff\xfe not a protobuf",
        protobuf(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_query_and_alert_returns_data_from_a_real_prometheus() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let topics = Topics::new("prom");
    topics.create(2).await;
    let config = write_config(dir.path(), &topics);

    complaint_history(&data, &config).await;
    let daemon =
        DaemonProcess::spawn_with(&data, &["--config", &config, "--kafka-brokers", &brokers()]);
    let prometheus = Prometheus::start(daemon.metrics_addr).await;
    // A first scrape before the traffic, so rates see the counters move.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(prometheus.query("up == 1").await, Ok(r) if !r.is_empty()) {
        assert!(
            Instant::now() < deadline,
            "prometheus never scraped the daemon"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    traffic(&daemon, &topics).await;
    let mut screening = ScreeningClient::new(daemon.channel().await);

    let panels = dashboard_queries();
    assert!(
        panels.len() >= 30,
        "only {} dashboard queries",
        panels.len()
    );

    // The rules as Prometheus loaded them from deploy/alerts.yml.
    let alerts_yml = std::fs::read_to_string(repo_path("deploy/alerts.yml")).unwrap();
    let declared = alerts_yml.matches("\n      - alert: ").count();
    let (_, body) = get(prometheus.addr, "/api/v1/rules").await.unwrap();
    let rules: serde_json::Value = serde_json::from_str(&body).unwrap();
    let alerts: Vec<(String, String)> = rules["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().iter())
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["query"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        alerts.len(),
        declared,
        "rules loaded by prometheus: {alerts:?}"
    );
    assert!(declared >= 13, "alerts.yml has {declared} alerts");

    let mut names: Vec<String> = panels
        .iter()
        .chain(alerts.iter())
        .flat_map(|(_, e)| metric_names(e))
        .collect();
    names.sort();
    names.dedup();

    // Until every check passes (series appear as the scrapes, the sweep and librdkafka's
    // statistics catch up) or the deadline: then the failures are the test's answer.
    let deadline = Instant::now() + Duration::from_secs(90);
    let failures = loop {
        let mut failures = Vec::new();
        for (title, expr) in &panels {
            match prometheus.query(expr).await {
                Err(e) => failures.push(format!("dashboard {title}: `{expr}` does not parse: {e}")),
                Ok(r) if r.is_empty() => {
                    failures.push(format!("dashboard {title}: `{expr}` returned nothing"))
                }
                Ok(_) => {}
            }
        }
        for (name, expr) in &alerts {
            if let Err(e) = prometheus.query(expr).await {
                failures.push(format!("alert {name}: `{expr}` does not parse: {e}"));
            }
            let under = strip_comparisons(expr);
            assert_ne!(&under, expr, "alert {name} has no comparison to strip");
            match prometheus.query(&under).await {
                Err(e) => failures.push(format!("alert {name}: `{under}` does not parse: {e}")),
                Ok(r) if r.is_empty() => {
                    failures.push(format!("alert {name}: `{under}` returned nothing"))
                }
                Ok(_) => {}
            }
        }
        for name in &names {
            match prometheus.query(&format!("count({name})")).await {
                Ok(r) if !r.is_empty() => {}
                other => failures.push(format!("metric {name} has no series: {other:?}")),
            }
        }
        // Every rule evaluated without an error.
        let (_, body) = get(prometheus.addr, "/api/v1/rules").await.unwrap();
        let rules: serde_json::Value = serde_json::from_str(&body).unwrap();
        for r in rules["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().iter())
        {
            if r["health"] != "ok" {
                failures.push(format!(
                    "rule {} health {} {}",
                    r["name"], r["health"], r["lastError"]
                ));
            }
        }
        if failures.is_empty() || Instant::now() > deadline {
            break failures;
        }
        // A trickle of releases and rejects keeps the 1m rates above zero while we wait.
        for port in [JD, "1069099999"] {
            screening
                .screen(request(port, &beijing(60), CODE))
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    println!(
        "prometheus: {} dashboard queries, {} alerts and {} metric names checked after {:.1}s",
        panels.len(),
        alerts.len(),
        names.len(),
        started.elapsed().as_secs_f64()
    );

    // The exposition format passes promtool's lint on a scrape of the daemon under traffic.
    let (status, body) = get(daemon.metrics_addr, "/metrics").await.unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains("portcullis_kafka_consumer_lag_messages{"),
        "no lag series in the scrape"
    );
    let mut promtool = std::process::Command::new(tool("PORTCULLIS_PROMTOOL", "promtool"))
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        promtool
            .stdin
            .take()
            .unwrap()
            .write_all(body.as_bytes())
            .unwrap();
    }
    let out = promtool.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool check metrics: {:?}\n{report}",
        out.status
    );

    drop(prometheus);
    assert!(daemon.terminate().success());
}

#[test]
fn comparisons_are_stripped_and_names_found() {
    assert_eq!(
        strip_comparisons("increase(portcullis_x_total{result=~\"error|refused\"}[10m]) > 0"),
        "increase(portcullis_x_total{result=~\"error|refused\"}[10m])"
    );
    assert_eq!(
        strip_comparisons("(a / b) > 0.05\nand\nsum(c) >= 1"),
        "(a / b)\nand\nsum(c)"
    );
    assert_eq!(strip_comparisons("x == 3"), "x");
    assert_eq!(strip_comparisons("y > 0.00024"), "y");
    assert_eq!(
        metric_names(
            "rate(portcullis_a_total[5m]) / portcullis_b_bucket{le=\"1\"} + portcullis_a_total"
        ),
        vec!["portcullis_a_total", "portcullis_b_bucket"]
    );
}
