//! Wires the edges to the core and owns the drain: `run` takes listeners that are already bound (so
//! port 0 works and tests pass 127.0.0.1:0), a clock and a shutdown future. Health answers SERVING
//! only once the state is loaded and NOT_SERVING as soon as shutdown starts; in-flight calls then
//! get `grace_period_secs` to finish.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::access::AccessConfig;
use crate::config::{Config, reload};
use crate::ingress::grpc::access::{AccessControl, AccessLayer};
use crate::ingress::grpc::compliance::ComplianceService;
use crate::ingress::grpc::operations::OperationsService;
use crate::ingress::grpc::registry::RegistryService;
use crate::ingress::grpc::screening::ScreeningService;
use crate::ingress::grpc::tls::{self, TlsError};
use crate::ingress::grpc::{FILE_DESCRIPTOR_SET, GrpcEdge};
use crate::metrics::{self, EdgeMetrics, Metrics};
use crate::pipeline::screen::LiveState;
use crate::proto::complaints_server::ComplaintsServer;
use crate::proto::compliance_server::ComplianceServer;
use crate::proto::operations_server::OperationsServer;
use crate::proto::registry_server::RegistryServer;
use crate::proto::screening_server::ScreeningServer;
use crate::region::RegionTable;
use crate::registry::InMemoryRegistry;
use crate::screening::Screener;
use crate::store::retention::RetentionPolicy;
use crate::store::{RegistryStore, Store, StoreError};
use crate::throttle::region::{ManualBlock, RegionThrottle};

/// Sockets bound before `run` (the two API.md log lines name their actual addresses).
pub struct Listeners {
    pub grpc: TcpListener,
    pub metrics: TcpListener,
}

impl Listeners {
    pub async fn bind(grpc: SocketAddr, metrics: SocketAddr) -> std::io::Result<Listeners> {
        Ok(Listeners {
            grpc: TcpListener::bind(grpc).await?,
            metrics: TcpListener::bind(metrics).await?,
        })
    }
}

/// What the daemon runs with besides its configuration: injected so tests can drive time and fill
/// the registries.
pub struct Deps {
    pub clock: Arc<dyn Clock>,
    /// The hot-path indexes: filled from the store at start, kept current by the store writer.
    pub registry: Arc<InMemoryRegistry>,
    pub regions: Arc<RegionTable>,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("listener: {0}")]
    Listener(#[from] std::io::Error),
    #[error("grpc server: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Kafka(#[from] crate::ingress::kafka::KafkaStartError),
    #[error("tls: {0}")]
    Tls(#[from] TlsError),
}

/// Rebuilds the complaint-rate windows from the stored complaints and released commercial decisions
/// of the window, in time order (the levels' hysteresis depends on the order).
fn rebuild_throttle(
    throttle: &RegionThrottle,
    regions: &RegionTable,
    decided: &[crate::store::IdempotencyRow],
    complaints: &[(String, String, i64)],
    since_s: i64,
) -> usize {
    use crate::domain::{Category, Msisdn};
    enum Event<'a> {
        Release(&'a str, &'a str),
        Complaint(&'a str, &'a str),
    }
    let commercial = [
        Category::Marketing.index() as u8 + 1,
        Category::LoanMarketing.index() as u8 + 1,
    ];
    let mut events: Vec<(i64, Event<'_>)> = Vec::new();
    for row in decided {
        if row.verdict != crate::proto::Verdict::Release as i32
            || !commercial.contains(&row.category)
            || row.decided_at_s < since_s
            || row.enterprise.is_empty()
        {
            continue;
        }
        let Some(region) = Msisdn::from_u64(row.msisdn).and_then(|m| regions.lookup(m.prefix7()))
        else {
            continue;
        };
        events.push((
            row.decided_at_s * 1_000_000_000,
            Event::Release(region.province, &row.enterprise),
        ));
    }
    for (province, enterprise, at_ns) in complaints {
        if !province.is_empty() && !enterprise.is_empty() {
            events.push((*at_ns, Event::Complaint(province, enterprise)));
        }
    }
    events.sort_by_key(|e| e.0);
    for (at_ns, event) in &events {
        let at = jiff::Timestamp::from_nanosecond(i128::from(*at_ns))
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        match event {
            Event::Release(p, e) => throttle.record_release(p, e, at),
            Event::Complaint(p, e) => throttle.record_complaint(p, e, at),
        }
    }
    events.len()
}

/// The access table and certificate the gRPC edge starts with, and the start-up lines that say how
/// the API is protected (an open API must say so).
fn grpc_edge(access: &AccessConfig, grpc_addr: SocketAddr) -> GrpcEdge {
    let metrics = Arc::new(EdgeMetrics::register());
    let certificate = access.tls.as_ref().map(|served| {
        metrics
            .tls_cert_expiry
            .set(served.certificate.not_after_s as f64);
        Arc::new(tls::CertificateSlot::new(served.certificate.clone()))
    });
    if access.is_open() {
        tracing::warn!(
            "access control is off: no [[clients]] configured, so every caller has every role; allowed only because gRPC listens on loopback ({grpc_addr})"
        );
    } else {
        tracing::info!(
            clients = access.clients.len(),
            tls = certificate.is_some(),
            "access control on: bearer tokens and roles"
        );
        if certificate.is_none() && !grpc_addr.ip().is_loopback() {
            tracing::warn!("no [tls]: bearer tokens cross the network in plaintext on {grpc_addr}");
        }
    }
    GrpcEdge {
        access: Arc::new(AccessControl::new(access)),
        certificate,
        metrics,
    }
}

/// How often expired idempotency entries and counters are dropped.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

pub async fn run(
    config: Config,
    listeners: Listeners,
    deps: Deps,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let grpc_addr = listeners.grpc.local_addr()?;
    let metrics_addr = listeners.metrics.local_addr()?;
    let grace = config.server.grace_period;

    // Durable state first: the indexes are loaded before anything is served.
    let store: Arc<dyn RegistryStore> = Arc::new(
        Store::open_with(
            &config.server.data_dir,
            Arc::clone(&deps.registry),
            &config.server.store,
        )
        .await?,
    );
    let (consents, opt_outs) = store.load_registry(&deps.registry).await?;
    let now_s = deps.clock.now().as_second();
    let decided = store.load_idempotency(now_s).await?;
    let throttle = Arc::new(RegionThrottle::new(
        config.throttles.clone(),
        deps.regions.provinces().map(str::to_owned),
        Arc::clone(&deps.clock),
    ));
    let screener = Arc::new(
        Screener::new(
            config.snapshot,
            LiveState::new(
                Arc::clone(&deps.registry) as Arc<dyn crate::registry::SubscriberRegistry>,
                Arc::clone(&throttle),
            ),
            deps.clock,
            Metrics::register(),
        )
        .with_long_sms(
            config.server.concat_timeout_secs,
            config.server.concat_max_pending_parts,
        ),
    );
    let restored = screener.restore(&decided);
    let window_secs = i64::from(config.throttles.geometry.bucket_secs)
        * i64::from(config.throttles.geometry.buckets);
    let complaints = store
        .complaints_since((now_s - window_secs) * 1_000_000_000)
        .await?;
    let fingerprint = screener.snapshot().policy.fingerprint;
    let campaign_since_s = now_s - i64::from(fingerprint.window_days) * 86_400;
    for (fp, at_ns) in store
        .complaint_fingerprints(campaign_since_s.saturating_mul(1_000_000_000))
        .await?
    {
        screener
            .live()
            .campaigns
            .complain(fp, at_ns.div_euclid(1_000_000_000), &fingerprint);
    }
    for (province, policy) in store.region_policies().await? {
        throttle.set_override(&province, policy);
    }
    throttle.set_blocks(
        store
            .region_blocks()
            .await?
            .iter()
            .map(ManualBlock::from_row)
            .collect(),
    );
    let replayed = rebuild_throttle(
        &throttle,
        &deps.regions,
        &decided,
        &complaints,
        now_s - window_secs,
    );
    tracing::info!(consents, opt_outs, decisions = restored, throttle_events = replayed, data_dir = %config.server.data_dir.display(), "state loaded");
    let cancel = CancellationToken::new();
    let tasks = tokio_util::task::TaskTracker::new();

    let metrics_handle = metrics::install();
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let handle = metrics_handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    );
    let metrics_cancel = cancel.clone();
    tasks.spawn(async move {
        let serve = axum::serve(listeners.metrics, router)
            .with_graceful_shutdown(metrics_cancel.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "metrics server failed");
        }
    });
    tracing::info!("metrics listening on {metrics_addr}");

    let edge = Arc::new(grpc_edge(&config.server.access, grpc_addr));
    tasks.spawn(reload::watch(
        config.source.clone(),
        config.server.clone(),
        Arc::clone(&deps.regions),
        Arc::clone(&screener),
        Arc::clone(&edge),
        cancel.clone(),
    ));
    let sweeper = Arc::clone(&screener);
    let sweep_cancel = cancel.clone();
    let indexes = Arc::clone(&deps.registry);
    let throttle_sweep = Arc::clone(&throttle);
    let mut reported_pairs = std::collections::HashSet::new();
    let concat_store = Arc::clone(&store);
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_INTERVAL);
        // Long messages past their deadline end within a second of it, so a gateway that never
        // comes back still gets every part's REJECT into the store and the audit.
        let mut concat_tick = tokio::time::interval(Duration::from_secs(1));
        concat_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = sweep_cancel.cancelled() => return,
                _ = concat_tick.tick() => {
                    concat_store.prune_idempotency(sweeper.clock().now().as_second());
                    let persist = sweeper.expire_long_messages();
                    if !persist.is_empty()
                        && let Err(e) = concat_store.enqueue(persist.audit, persist.idempotency).await
                    {
                        tracing::error!(error = %e, "incomplete long messages not queued for the store");
                    }
                }
                _ = tick.tick() => {
                    sweeper.sweep();
                    let (consents, opt_outs, enterprises) = indexes.sizes();
                    metrics::registry_sizes(consents, opt_outs, enterprises);
                    let now = sweeper.clock().now();
                    throttle_sweep.sweep(now);
                    metrics::throttle_levels(
                        &throttle_sweep.province_levels(now),
                        &throttle_sweep.states(None, None, now),
                        &mut reported_pairs,
                    );
                }
            }
        }
    });

    // Retention: consent expiries recorded and records past the floor and the maximum purged.
    let retention_store = Arc::clone(&store);
    let retention_screener = Arc::clone(&screener);
    let retention_cancel = cancel.clone();
    let (consent_months, max_months) = (
        config.server.retention_consent_months,
        config.server.retention_max_months,
    );
    let purge_interval = config.server.purge_interval;
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(purge_interval);
        loop {
            tokio::select! {
                () = retention_cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            let policy = RetentionPolicy {
                consent_months,
                max_months,
                timezone: retention_screener.snapshot().policy.timezone.clone(),
            };
            let now = retention_screener.clock().now();
            match retention_store.apply_retention(now, &policy).await {
                Ok(r) if r.records_purged + r.expiries_recorded > 0 => {
                    tracing::info!(
                        purged = r.records_purged,
                        expiries = r.expiries_recorded,
                        "retention applied"
                    );
                }
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention pass failed; will retry"),
            }
        }
    });

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let limits = &config.server.access.limits;
    let max_bytes = limits.max_request_bytes;
    let screening = ScreeningServer::new(ScreeningService::new(
        Arc::clone(&screener),
        Arc::clone(&store),
        config.server.stream_buffer,
        Arc::clone(&edge.metrics),
    ))
    .max_decoding_message_size(max_bytes);
    let registry_service = Arc::new(RegistryService::new(
        Arc::clone(&screener),
        Arc::clone(&store),
    ));
    if let Some(kafka) = config.server.kafka.clone() {
        crate::ingress::kafka::start(
            kafka,
            Arc::clone(&screener),
            Arc::clone(&store),
            Arc::clone(&registry_service),
            &tasks,
            &cancel,
        )?;
    }
    // State is loaded (the snapshot was built before `run`); only now say so.
    health_reporter
        .set_serving::<ScreeningServer<ScreeningService>>()
        .await;
    health_reporter
        .set_service_status("", tonic_health::ServingStatus::Serving)
        .await;

    if let Some(addr) = config.server.health_addr {
        let listener = TcpListener::bind(addr).await?;
        tracing::info!("health listening on {}", listener.local_addr()?);
        let health_cancel = cancel.clone();
        let health_only = tonic::transport::Server::builder()
            .add_service(health_service.clone())
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                health_cancel.cancelled_owned(),
            );
        tasks.spawn(async move {
            if let Err(e) = health_only.await {
                tracing::error!(error = %e, "health listener failed");
            }
        });
    }
    let grpc_cancel = cancel.clone();
    let drain_reporter = health_reporter.clone();
    let signal = async move {
        shutdown.await;
        tracing::info!("shutdown requested: draining");
        drain_reporter
            .set_not_serving::<ScreeningServer<ScreeningService>>()
            .await;
        drain_reporter
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        grpc_cancel.cancel();
    };
    let acceptor = match &edge.certificate {
        Some(slot) => Some(tls::acceptor_for(slot)?),
        None => None,
    };
    let incoming = tls::incoming(
        listeners.grpc,
        acceptor,
        limits.tls_handshake_timeout,
        Arc::clone(&edge.metrics),
        cancel.clone(),
    );
    let server = tonic::transport::Server::builder()
        .max_concurrent_streams(limits.max_concurrent_streams)
        .layer(AccessLayer::new(
            Arc::clone(&edge.access),
            Arc::clone(&edge.metrics),
            limits.max_concurrent_streams,
        ))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(screening)
        .add_service(
            RegistryServer::from_arc(Arc::clone(&registry_service))
                .max_decoding_message_size(max_bytes),
        )
        .add_service(
            ComplaintsServer::from_arc(registry_service).max_decoding_message_size(max_bytes),
        )
        .add_service(
            ComplianceServer::new(ComplianceService::new(
                Arc::clone(&store),
                Arc::clone(&screener),
                config.server.retention_consent_months,
                config.server.retention_max_months,
            ))
            .max_decoding_message_size(max_bytes),
        )
        .add_service(
            OperationsServer::new(OperationsService::new(
                Arc::clone(&screener),
                Arc::clone(&store),
            ))
            .max_decoding_message_size(max_bytes),
        )
        .serve_with_incoming_shutdown(incoming, signal);
    tracing::info!("grpc listening on {grpc_addr}");

    // After shutdown starts, in-flight calls (and open streams) get the grace period, no more.
    let drained = async {
        cancel.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    let result = tokio::select! {
        r = server => r.map_err(ServeError::from),
        () = drained => {
            tracing::warn!(grace_secs = grace.as_secs(), "grace period over: closing calls still in flight");
            Ok(())
        }
    };
    cancel.cancel();
    match tokio::time::timeout(grace, store.flush()).await {
        Ok(Ok(())) => tracing::info!("store flushed"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "store flush failed: decisions queued at shutdown may be lost")
        }
        Err(_) => tracing::error!("store flush did not finish within the grace period"),
    }
    tasks.close();
    if tokio::time::timeout(grace, tasks.wait()).await.is_err() {
        tracing::warn!("background tasks did not stop within the grace period");
    }
    tracing::info!("stopped");
    result
}
