//! Live reload: a good change takes effect without a restart; a bad one is refused and the running
//! configuration stays.

use std::time::Duration;

use portcullis::proto::{ReasonCode, Verdict};

use crate::util::*;

const NEW_PORT: &str = "10690005555";
const NEW_SENDER: &str = "\n[[sender]]\nport = \"10690005555\"\nenterprise = \"ent-ctrip\"\nname = \"携程旅行\"\n\
signatures = [\"携程旅行\"]\ncontact = \"95010\"\ncategories = [\"VERIFICATION\", \"SERVICE\"]\n";

async fn wait_for(d: &TestDaemon, series: &str, labels: &[&str], at_least: f64) -> bool {
    for _ in 0..100 {
        if metric_value(&d.scrape().await, series, labels) >= at_least {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Screens `text` from `port` with fresh message ids until `done` holds (or 10 s pass).
async fn screen_until(
    d: &TestDaemon,
    port: &str,
    text: &str,
    done: impl Fn(&portcullis::proto::Decision) -> bool,
) -> portcullis::proto::Decision {
    let mut last = d.screen(request(port, "13700137000", text)).await;
    for _ in 0..100 {
        if done(&last) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        last = d.screen(request(port, "13700137000", text)).await;
    }
    last
}

#[tokio::test]
async fn senders_reload_live_and_a_bad_reload_keeps_the_old_snapshot() {
    let senders = std::fs::read_to_string(repo_path("config/senders.toml")).unwrap();
    let d = TestDaemon::start_with(DaemonOptions {
        config: Some("[files]\nsenders = \"senders.toml\"\n".into()),
        files: vec![("senders.toml".into(), senders.clone())],
        ..Default::default()
    })
    .await;
    let text = "【携程旅行】您预订的11月25日上海-北京MU5101航班已出票，请提前2小时到达机场。";
    let before = d.screen(request(NEW_PORT, "13800138000", text)).await;
    assert_eq!(before.reasons[0].code(), ReasonCode::ReasonSenderUnknown);

    // Metrics are shared by every daemon in this test process, so a good reload is observed by
    // its effect, not by the reload counter.
    let reloads = "portcullis_config_reloads_total";
    std::fs::write(
        d.dir.path().join("senders.toml"),
        format!("{senders}{NEW_SENDER}"),
    )
    .unwrap();
    let after = screen_until(&d, NEW_PORT, text, |d| d.verdict() == Verdict::Release).await;
    assert_eq!(
        after.verdict(),
        Verdict::Release,
        "the new sender never took effect: {after:?}"
    );
    assert_eq!(after.enterprise_id, "ent-ctrip");

    // A broken file: logged, counted, and the running registry keeps serving.
    let err_before = metric_value(&d.scrape().await, reloads, &["result=\"error\""]);
    std::fs::write(
        d.dir.path().join("senders.toml"),
        format!("{senders}{NEW_SENDER}\n[[sender]]\nport = \"x\"\n"),
    )
    .unwrap();
    assert!(
        wait_for(&d, reloads, &["result=\"error\""], err_before + 1.0).await,
        "no failed reload seen"
    );
    let still = d.screen(request(NEW_PORT, "13900139000", text)).await;
    assert_eq!(still.verdict(), Verdict::Release, "{still:?}");

    // A change that needs a restart is refused (with a valid senders file, so only that is wrong).
    std::fs::write(
        d.dir.path().join("senders.toml"),
        format!("{senders}{NEW_SENDER}"),
    )
    .unwrap();
    let refused_before = metric_value(&d.scrape().await, reloads, &["result=\"refused\""]);
    std::fs::write(
        d.dir.path().join("portcullis.toml"),
        "[files]\nsenders = \"senders.toml\"\n[log]\nformat = \"json\"\n",
    )
    .unwrap();
    assert!(
        wait_for(&d, reloads, &["result=\"refused\""], refused_before + 1.0).await,
        "no refused reload seen"
    );
    d.stop().await;
}

#[tokio::test]
async fn a_new_keyword_list_entry_takes_effect_without_a_restart() {
    let mut files = vec![(
        "rules.toml".to_owned(),
        std::fs::read_to_string(repo_path("config/rules.toml")).unwrap(),
    )];
    for entry in std::fs::read_dir(repo_path("config/keywords")).unwrap() {
        let entry = entry.unwrap();
        let name = format!("keywords/{}", entry.file_name().to_string_lossy());
        files.push((name, std::fs::read_to_string(entry.path()).unwrap()));
    }
    let d = TestDaemon::start_with(DaemonOptions {
        config: Some("[files]\nrules = \"rules.toml\"\n".into()),
        files,
        ..Default::default()
    })
    .await;
    let text = "【招商银行】尊敬的客户，量子护符今日到店，详询95555。";
    let before = d.screen(request(CMB, "13800138000", text)).await;
    assert!(
        !before.symbols.iter().any(|s| s.starts_with("GAMBLING")),
        "{before:?}"
    );

    let mut keywords = std::fs::read_to_string(d.dir.path().join("keywords/gambling.txt")).unwrap();
    keywords.push_str("\n量子护符\n");
    std::fs::write(d.dir.path().join("keywords/gambling.txt"), keywords).unwrap();
    let after = screen_until(&d, CMB, text, |d| {
        d.symbols.iter().any(|s| s.starts_with("GAMBLING"))
    })
    .await;
    assert!(
        after.symbols.iter().any(|s| s.starts_with("GAMBLING")),
        "the new gambling keyword did not fire: {after:?}"
    );
    d.stop().await;
}

/// Kubernetes' atomic writer updates a mounted ConfigMap or Secret by writing a new timestamped
/// directory and renaming a `..data` symlink onto it; the files themselves are symlinks through
/// `..data` and see no event of their own. The reload must still happen.
#[cfg(unix)]
#[tokio::test]
async fn a_kubelet_style_symlink_swap_reloads() {
    use std::os::unix::fs::symlink;
    let senders = std::fs::read_to_string(repo_path("config/senders.toml")).unwrap();
    let mount = tempfile::tempdir().unwrap();
    let m = mount.path();
    std::fs::create_dir(m.join("..2026_12_06_a")).unwrap();
    std::fs::write(m.join("..2026_12_06_a/senders.toml"), &senders).unwrap();
    symlink("..2026_12_06_a", m.join("..data")).unwrap();
    symlink("..data/senders.toml", m.join("senders.toml")).unwrap();
    let d = TestDaemon::start_with(DaemonOptions {
        config: Some(format!(
            "[files]\nsenders = \"{}\"\n",
            m.join("senders.toml").display()
        )),
        ..Default::default()
    })
    .await;
    let text = "【携程旅行】您预订的11月25日上海-北京MU5101航班已出票，请提前2小时到达机场。";
    let before = d.screen(request(NEW_PORT, "13800138000", text)).await;
    assert_eq!(before.reasons[0].code(), ReasonCode::ReasonSenderUnknown);

    // What kubelet does: new directory, `..data_tmp` pointing at it, renamed over `..data`.
    std::fs::create_dir(m.join("..2026_12_06_b")).unwrap();
    std::fs::write(
        m.join("..2026_12_06_b/senders.toml"),
        format!("{senders}{NEW_SENDER}"),
    )
    .unwrap();
    symlink("..2026_12_06_b", m.join("..data_tmp")).unwrap();
    std::fs::rename(m.join("..data_tmp"), m.join("..data")).unwrap();
    std::fs::remove_dir_all(m.join("..2026_12_06_a")).unwrap();

    let after = screen_until(&d, NEW_PORT, text, |d| d.verdict() == Verdict::Release).await;
    assert_eq!(
        after.verdict(),
        Verdict::Release,
        "the swapped file never took effect: {after:?}"
    );
    d.stop().await;
}
