//! The binary as operators run it: check-config exit codes, the two listen lines, SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::util::repo_path;

fn portcullis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
}

#[test]
fn check_config_accepts_the_shipped_and_embedded_configs() {
    let out = portcullis().args(["check-config"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shipped = repo_path("config/portcullis.toml");
    let out = portcullis()
        .arg("check-config")
        .arg("--config")
        .arg(&shipped)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_config_lists_every_error_and_exits_78() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(
        &config,
        "[server]\ngrpc_addr = \"localhost\"\n[policy]\nmarketing_window = \"25:00-08:00\"\nspam_reject_score = 2.0\n\
         [retention]\nconsent_months = 3\n[files]\nsenders = \"senders.toml\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("senders.toml"),
        "[[sender]]\nport = \"10abc\"\nenterprise = \"\"\nname = \"x\"\ncategories = [\"SPAM\"]\n",
    )
    .unwrap();
    let out = portcullis()
        .arg("check-config")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for path in [
        "server.grpc_addr",
        "policy.marketing_window",
        "policy.spam_reject_score",
        "retention.consent_months",
        "sender[0].port",
        "sender[0].enterprise",
        "sender[0].categories[0]",
    ] {
        assert!(stderr.contains(path), "{path} missing from:\n{stderr}");
    }
}

#[test]
fn serve_with_invalid_config_exits_78_and_binds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.toml");
    std::fs::write(&config, "[retention]\nconsent_months = 4\n").unwrap();
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let out = portcullis()
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .args([
            "--grpc-addr",
            &format!("127.0.0.1:{port}"),
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    assert!(String::from_utf8_lossy(&out.stderr).contains("retention.consent_months"));
    assert!(
        std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
        "the gRPC port was bound"
    );
}

#[test]
fn serve_logs_both_addresses_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = portcullis()
        .args([
            "serve",
            "--grpc-addr",
            "127.0.0.1:0",
            "--metrics-addr",
            "127.0.0.1:0",
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut grpc, mut metrics) = (None, None);
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(addr) = line.split("grpc listening on ").nth(1) {
            grpc = Some(addr.trim().to_owned());
        }
        if let Some(addr) = line.split("metrics listening on ").nth(1) {
            metrics = Some(addr.trim().to_owned());
        }
        if grpc.is_some() && metrics.is_some() {
            break;
        }
    }
    let grpc: std::net::SocketAddr = grpc.expect("grpc line").parse().unwrap();
    let metrics: std::net::SocketAddr = metrics.expect("metrics line").parse().unwrap();
    assert_ne!(grpc.port(), 0);
    assert_ne!(metrics.port(), 0);
    assert!(std::net::TcpStream::connect(grpc).is_ok());
    assert!(
        dir.path().join("data").is_dir(),
        "--data-dir is created on first start"
    );

    // The shell's builtin kill: no procps needed on a minimal machine.
    let status = Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|l| l.contains("shutdown requested")),
        "{rest:?}"
    );
}

#[test]
fn check_config_lists_every_bad_throttle_policy() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("portcullis.toml");
    std::fs::write(&config, "[files]\nthrottles = \"throttles.toml\"\n").unwrap();
    std::fs::write(
        dir.path().join("throttles.toml"),
        "[default]\nrelease_rate = 0.0004\n\n[province.\"广东\"]\nwarn_rate = -0.1\n\n[province.\"火星\"]\nblock_rate = 0.01\n\n\
         [province.\"北京\"]\nthrottle_rate = 0.002\nblock_rate = 0.001\nthrottle_msgs_per_s = 0\n",
    )
    .unwrap();
    let out = portcullis()
        .arg("check-config")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "default.release_rate",        // release above warn: no hysteresis
        "province.广东.warn_rate",     // negative rate
        "province.火星",               // not a province of the number-segment table
        "province.北京.throttle_rate", // throttle above block
        "province.北京.throttle_msgs_per_s",
    ] {
        assert!(stderr.contains(needle), "{needle} missing from:\n{stderr}");
    }
}
