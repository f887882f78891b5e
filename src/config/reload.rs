//! Live reload: on a change to a watched file (or SIGHUP) the whole configuration is loaded and
//! validated again off the runtime; a valid result becomes the new snapshot (and the new client table
//! and TLS certificate), an invalid one is logged error by error and the old snapshot stays
//! (STYLE.md §3). Fields that need a restart are refused.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::access::AccessConfig;
use crate::config::{self, ConfigError, ConfigSource, ServerConfig};
use crate::ingress::grpc::GrpcEdge;
use crate::metrics::ReloadResult;
use crate::pipeline::screen::Snapshot;
use crate::region::RegionTable;
use crate::screening::Screener;
use crate::throttle::ThrottleConfig;

/// Why a reload did not take effect.
#[derive(Debug)]
pub enum ReloadError {
    Invalid(Vec<ConfigError>),
    RestartRequired(Vec<&'static str>),
}

/// Loads the configuration again from `source`; blocking (file I/O, regex compilation).
pub fn load_snapshot(
    source: &ConfigSource,
    running: &ServerConfig,
    regions: &Arc<RegionTable>,
) -> Result<(Snapshot, ThrottleConfig, AccessConfig), ReloadError> {
    let config = config::load(source, regions).map_err(ReloadError::Invalid)?;
    let changed = config::restart_only_changes(running, &config.server);
    if !changed.is_empty() {
        return Err(ReloadError::RestartRequired(changed));
    }
    Ok((config.snapshot, config.throttles, config.server.access))
}

/// Quiet time after a file event before reloading: editors write files in several steps.
const DEBOUNCE: Duration = Duration::from_millis(200);

/// Watches the configuration files and SIGHUP until `cancel`, reloading into `screener`.
pub async fn watch(
    source: ConfigSource,
    running: ServerConfig,
    regions: Arc<RegionTable>,
    screener: Arc<Screener>,
    edge: Arc<GrpcEdge>,
    cancel: CancellationToken,
) {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let _watcher = start_file_watcher(&source, tx.clone());
    let mut hangup = hangup_signal();
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            Some(()) = rx.recv() => {}
            Some(()) = next_hangup(&mut hangup) => tracing::info!("sighup: reloading configuration"),
        }
        tokio::time::sleep(DEBOUNCE).await;
        while rx.try_recv().is_ok() {}
        let (source2, running2, regions2) = (source.clone(), running.clone(), Arc::clone(&regions));
        let result =
            tokio::task::spawn_blocking(move || load_snapshot(&source2, &running2, &regions2))
                .await;
        match result {
            Ok(Ok((snapshot, throttles, access))) => {
                edge.apply(&access);
                screener.live().throttle.replace_config(throttles);
                let generation = screener.replace_snapshot(snapshot);
                screener.metrics().reload(ReloadResult::Ok);
                tracing::info!(generation, "configuration reloaded");
            }
            Ok(Err(ReloadError::Invalid(errors))) => {
                screener.metrics().reload(ReloadResult::Error);
                for e in &errors {
                    tracing::error!(path = %e.path, "reload rejected: {}", e.message);
                }
                tracing::error!(
                    errors = errors.len(),
                    "configuration reload failed; keeping the running configuration"
                );
            }
            Ok(Err(ReloadError::RestartRequired(fields))) => {
                screener.metrics().reload(ReloadResult::Refused);
                tracing::error!(fields = ?fields, "configuration reload refused: these fields need a restart");
            }
            Err(e) => {
                screener.metrics().reload(ReloadResult::Error);
                tracing::error!(error = %e, "configuration reload task failed");
            }
        }
    }
}

fn start_file_watcher(
    source: &ConfigSource,
    tx: mpsc::Sender<()>,
) -> Option<notify::RecommendedWatcher> {
    let watched: Vec<PathBuf> = source
        .watched_files()
        .into_iter()
        .map(|p| std::path::absolute(&p).unwrap_or(p))
        .collect();
    if watched.is_empty() {
        return None;
    }
    let targets = watched.clone();
    let handler = move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if matches!(event.kind, notify::EventKind::Access(_)) {
            return;
        }
        // Kubernetes updates a mounted ConfigMap or Secret by swapping a `..data` symlink in the
        // mount directory: the files' own paths see no event, the swap in their directory does.
        let swapped = |p: &std::path::Path| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("..data"))
        };
        let relevant = event.paths.iter().any(|p| {
            targets.iter().any(|t| {
                p == t
                    || p.parent() == Some(t.as_path())
                    || (swapped(p) && p.parent() == t.parent())
            })
        });
        if relevant {
            // A full channel means a reload is already pending.
            let _ = tx.try_send(());
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch configuration files; reload with SIGHUP");
            return None;
        }
    };
    let mut dirs: Vec<PathBuf> = watched
        .iter()
        .filter_map(|p| p.parent().map(PathBuf::from))
        .collect();
    dirs.extend(watched.iter().filter(|p| p.is_dir()).cloned());
    dirs.sort();
    dirs.dedup();
    for dir in dirs {
        if let Err(e) = watcher.watch(&dir, RecursiveMode::NonRecursive) {
            tracing::warn!(dir = %dir.display(), error = %e, "cannot watch configuration directory");
        }
    }
    Some(watcher)
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup_signal() -> Hangup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}

#[cfg(not(unix))]
fn hangup_signal() -> Hangup {
    None
}

#[cfg(unix)]
async fn next_hangup(h: &mut Hangup) -> Option<()> {
    match h {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangup) -> Option<()> {
    std::future::pending().await
}
