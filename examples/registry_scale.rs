//! The durable registries at scale: acknowledged writes with group commit, memory per opt-out,
//! start-up with N opt-outs on disk, and bulk import through Registry.ImportOptOuts. Prints one line
//! per figure, then every figure as one JSON object. Numbers go in benches/README.md.
//!
//! cargo run --release --example registry_scale -- [N]      (N opt-outs, default 10,000,000)
//!
//! REGISTRY_SCALE_PHASES=memory,startup,writes,import (the default: all) runs only some, e.g.
//! under a profiler.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use portcullis::clock::SystemClock;
use portcullis::config::{self, ConfigSource, Overrides};
use portcullis::domain::{Msisdn, OptOutScope};
use portcullis::proto;
use portcullis::proto::registry_client::RegistryClient;
use portcullis::region::RegionTable;
use portcullis::registry::{InMemoryRegistry, SubscriberRegistry};
use portcullis::server::{self, Deps, Listeners};
use portcullis::store::event::{Event, OptOutRow};
use portcullis::store::{DB_FILE, Store};
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};

/// The system allocator, counting the bytes live, so the registry's heap can be told apart from
/// what the allocator keeps resident.
struct Counting {
    live: AtomicU64,
}

impl Counting {
    fn live(&self) -> i64 {
        self.live.load(Ordering::Relaxed) as i64
    }
}

// SAFETY: every call is forwarded unchanged to `System`; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.live.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.live.fetch_sub(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.live.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.live.fetch_add(
            (new_size as u64).wrapping_sub(layout.size() as u64),
            Ordering::Relaxed,
        );
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static HEAP: Counting = Counting {
    live: AtomicU64::new(0),
};

const ENTERPRISES: u64 = 1000;
/// Seed of the opt-outs that are filled; lookups that must miss use another seed.
const SEED: u64 = 0x5eed;
const MISS_SEED: u64 = 0xdead_beef;
const WRITE_SECONDS: u64 = 5;
const WRITE_CONCURRENCY: [usize; 3] = [1, 64, 512];
const IMPORT_ROWS: usize = 200_000;

/// The i-th output of splitmix64 from `seed`: random access, so the k-th opt-out can be rebuilt
/// without keeping all N in memory.
fn mix(seed: u64, i: u64) -> u64 {
    let mut z = seed.wrapping_add(i.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The i-th opt-out of a seed: (msisdn 13xxxxxxxxx, enterprise index).
fn key(seed: u64, i: u64) -> (u64, u64) {
    (
        13_000_000_000 + mix(seed, 2 * i) % 1_000_000_000,
        mix(seed, 2 * i + 1) % ENTERPRISES,
    )
}

fn msisdn(v: u64) -> Msisdn {
    Msisdn::from_u64(v).expect("13xxxxxxxxx is a mobile number")
}

fn enterprise(i: u64) -> String {
    format!("ent-{i:04}")
}

/// A field of /proc/self/status, in KiB (VmRSS, VmHWM).
fn proc_status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("field in /proc/self/status")
}

/// A counter of /proc/self/io (wchar: bytes handed to write(2) and friends).
fn proc_io(field: &str) -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").expect("read /proc/self/io");
    io.lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .strip_prefix(':')?
                .trim()
                .parse()
                .ok()
        })
        .expect("field in /proc/self/io")
}

/// Context switches of every thread of this process, so far.
fn context_switches() -> u64 {
    let tasks = std::fs::read_dir("/proc/self/task").expect("read /proc/self/task");
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().last()?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}

/// CPU seconds used so far by (SQLite worker threads, every other thread), from
/// /proc/self/task/*/stat (utime + stime, in clock ticks of 10 ms).
fn thread_cpu() -> (f64, f64) {
    let tasks = std::fs::read_dir("/proc/self/task").expect("read /proc/self/task");
    let mut sqlite = 0.0;
    let mut other = 0.0;
    for task in tasks.filter_map(Result::ok) {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ... : comm may hold spaces, so split after the last ')'.
        let Some((head, tail)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = tail.split_whitespace().collect();
        let ticks: f64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
            .unwrap_or(0.0);
        if head.contains("sqlx-sqlite") {
            sqlite += ticks / 100.0;
        } else {
            other += ticks / 100.0;
        }
    }
    (sqlite, other)
}

async fn audit_batches(conn: &mut SqliteConnection) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_batches")
        .fetch_one(conn)
        .await
        .expect("count audit batches")
}

fn rss_bytes() -> u64 {
    proc_status_kib("VmRSS") * 1024
}

/// Resets VmHWM to the current RSS (Linux >= 4.0), so a later VmHWM is the peak of one phase.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

fn now_ns() -> i64 {
    jiff::Timestamp::now().as_nanosecond() as i64
}

/// b. Resident and live-heap bytes per opt-out in `InMemoryRegistry`, then lookups on that registry
/// from one thread and from one per core.
fn memory(n: u64, figures: &mut serde_json::Map<String, Value>) {
    let names: Vec<String> = (0..ENTERPRISES).map(enterprise).collect();
    let before = rss_bytes();
    let heap_before = HEAP.live();
    let started = Instant::now();
    let registry = InMemoryRegistry::new();
    for i in 0..n {
        let (m, e) = key(SEED, i);
        registry.opt_out(msisdn(m), Some(&names[e as usize]), OptOutScope::Commercial);
    }
    let fill_s = started.elapsed().as_secs_f64();
    let after = rss_bytes();
    let heap = HEAP.live() - heap_before;
    let entries = registry.sizes().1 as u64;
    let per_entry = (after - before) as f64 / entries as f64;
    println!(
        "bytes per opt-out (RSS): {per_entry:.1} B  [{entries} entries, RSS +{:.2} GiB, filled in {fill_s:.1} s] (aim < 32)",
        gib(after - before)
    );
    let heap_per_entry = heap as f64 / entries as f64;
    println!(
        "bytes per opt-out (live heap, counting allocator): {heap_per_entry:.1} B  [{:.2} GiB allocated and not freed]",
        gib(heap as u64)
    );
    figures.insert("opt_outs_in_memory".into(), json!(entries));
    figures.insert("bytes_per_opt_out_rss".into(), json!(round1(per_entry)));
    figures.insert(
        "fill_inserts_per_s".into(),
        json!((entries as f64 / fill_s).round()),
    );

    // Lookups on the full registry, 10% hits: one thread, then one per core.
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    for threads in [1, cores] {
        let total = lookups(&registry, &names, n, threads);
        println!(
            "is_opted_out lookups on {entries} entries, {threads} thread(s), 10% hits: {:.2} M/s ({:.2} M/s per thread) (aim 5 M/s per core)",
            total / 1e6,
            total / 1e6 / threads as f64
        );
        figures.insert(
            format!("lookups_per_s_full_registry_{threads}_threads"),
            json!(total.round()),
        );
    }
    figures.insert(
        "bytes_per_opt_out_heap".into(),
        json!(round1(heap_per_entry)),
    );
    drop(registry);
}

/// is_opted_out from `threads` threads for ~2 s, each over its own 1M queries (10% drawn from the
/// filled opt-outs, the rest numbers from another seed); lookups per second, all threads together.
fn lookups(registry: &InMemoryRegistry, names: &[String], n: u64, threads: usize) -> f64 {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads as u64)
            .map(|t| {
                s.spawn(move || {
                    let queries: Vec<(Msisdn, usize)> = (0..1_000_000u64)
                        .map(|q| {
                            let pick = mix(t, q);
                            let (m, e) = if pick % 10 == 0 {
                                key(SEED, pick / 10 % n)
                            } else {
                                key(MISS_SEED ^ t, q)
                            };
                            (msisdn(m), e as usize)
                        })
                        .collect();
                    let started = Instant::now();
                    let deadline = started + Duration::from_secs(2);
                    let mut done = 0u64;
                    let mut hits = 0u64;
                    while Instant::now() < deadline {
                        for (m, e) in &queries {
                            hits += u64::from(registry.is_opted_out(
                                std::hint::black_box(*m),
                                &names[*e],
                                OptOutScope::Commercial,
                            ));
                        }
                        done += queries.len() as u64;
                    }
                    std::hint::black_box(hits);
                    done as f64 / started.elapsed().as_secs_f64()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("lookup thread"))
            .sum()
    })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// c. Start-up: N opt-outs written straight into a fresh store's `opt_outs` table (setup, bypassing
/// the audit chain), then `Store::open` + `load_registry` into a fresh registry, timed.
async fn startup(n: u64, figures: &mut serde_json::Map<String, Value>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    {
        let store = Store::open(&data, Arc::new(InMemoryRegistry::new()))
            .await
            .expect("create the store");
        drop(store);
    }
    let started = Instant::now();
    let mut keys: Vec<(u64, u64)> = (0..n).map(|i| key(SEED, i)).collect();
    keys.sort_unstable();
    keys.dedup();
    let options = SqliteConnectOptions::new()
        .filename(data.join(DB_FILE))
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .expect("open the store for setup");
    const ROWS: usize = 500;
    let sql_for = |rows: usize| {
        let mut sql = String::from(
            "INSERT INTO opt_outs (msisdn, enterprise, scope, opted_out, channel, at_ns, record_id) VALUES ",
        );
        for r in 0..rows {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push_str("(?, ?, 1, 1, 9, ?, ?)");
        }
        sql
    };
    let full = sql_for(ROWS);
    let at_ns = now_ns();
    for (t, txn) in keys.chunks(200_000).enumerate() {
        let mut tx = conn.begin().await.expect("begin");
        for (c, chunk) in txn.chunks(ROWS).enumerate() {
            let sql = if chunk.len() == ROWS {
                full.clone()
            } else {
                sql_for(chunk.len())
            };
            // Only placeholders are built into the text; every value is bound.
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (r, (m, e)) in chunk.iter().enumerate() {
                let id = (t * 200_000 + c * ROWS + r) as u64;
                q = q
                    .bind(m.to_string())
                    .bind(enterprise(*e))
                    .bind(at_ns)
                    .bind(format!("opt-{:016x}{:016x}", mix(1, id), id));
            }
            q.execute(&mut *tx).await.expect("insert opt-outs");
        }
        tx.commit().await.expect("commit");
    }
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .expect("checkpoint");
    conn.close().await.expect("close");
    let rows = keys.len();
    drop(keys);
    let db_bytes = std::fs::metadata(data.join(DB_FILE))
        .map(|m| m.len())
        .unwrap_or(0);
    eprintln!(
        "setup: {rows} opt-out rows written in {:.1} s ({:.2} GiB on disk)",
        started.elapsed().as_secs_f64(),
        gib(db_bytes)
    );

    reset_peak();
    let rss_before = rss_bytes();
    let heap_before = HEAP.live();
    let registry = Arc::new(InMemoryRegistry::new());
    let started = Instant::now();
    let store = Store::open(&data, Arc::clone(&registry))
        .await
        .expect("open the store");
    let opened = started.elapsed().as_secs_f64();
    let switches_before = context_switches();
    let cpu_before = thread_cpu();
    let (_, loaded) = store
        .load_registry(&registry)
        .await
        .expect("load the registry");
    let total = started.elapsed().as_secs_f64();
    let switches = context_switches() - switches_before;
    let cpu = thread_cpu();
    let (sqlite_cpu, other_cpu) = (cpu.0 - cpu_before.0, cpu.1 - cpu_before.1);
    let rss_after = rss_bytes();
    let heap_after = (HEAP.live() - heap_before).max(0) as u64;
    let peak = proc_status_kib("VmHWM") * 1024;
    println!(
        "start-up with {loaded} opt-outs: {total:.2} s (Store::open {opened:.2} s + load_registry {:.2} s; RSS +{:.2} GiB after (live heap +{:.2} GiB), peak +{:.2} GiB during) (aim < 5 s)",
        total - opened,
        gib(rss_after.saturating_sub(rss_before)),
        gib(heap_after),
        gib(peak.saturating_sub(rss_before))
    );
    let rows = loaded.max(1) as f64;
    println!(
        "  load_registry per row: {:.2} us wall, CPU {:.2} us in the SQLite worker + {:.2} us elsewhere, {:.2} context switches",
        (total - opened) / rows * 1e6,
        sqlite_cpu / rows * 1e6,
        other_cpu / rows * 1e6,
        switches as f64 / rows
    );
    figures.insert(
        "startup_load_us_per_row".into(),
        json!(round2((total - opened) / rows * 1e6)),
    );
    figures.insert(
        "startup_load_sqlite_worker_cpu_us_per_row".into(),
        json!(round2(sqlite_cpu / rows * 1e6)),
    );
    figures.insert(
        "startup_load_other_cpu_us_per_row".into(),
        json!(round2(other_cpu / rows * 1e6)),
    );
    figures.insert(
        "startup_load_context_switches_per_row".into(),
        json!(round2(switches as f64 / rows)),
    );
    figures.insert("startup_opt_outs".into(), json!(loaded));
    figures.insert("startup_s".into(), json!(round2(total)));
    figures.insert("startup_store_open_s".into(), json!(round2(opened)));
    figures.insert(
        "startup_load_registry_s".into(),
        json!(round2(total - opened)),
    );
    figures.insert(
        "startup_peak_rss_gib".into(),
        json!(round2(gib(peak.saturating_sub(rss_before)))),
    );
    figures.insert("store_db_gib".into(), json!(round2(gib(db_bytes))));
    figures.insert(
        "startup_rss_after_gib".into(),
        json!(round2(gib(rss_after.saturating_sub(rss_before)))),
    );
    figures.insert(
        "startup_live_heap_after_gib".into(),
        json!(round2(gib(heap_after))),
    );
    drop(store);
    drop(registry);
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    f64::from(sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]) / 1e6
}

/// a. Acknowledged writes: C tasks each committing single-event opt-outs through `Store::commit`.
async fn writes(figures: &mut serde_json::Map<String, Value>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let registry = Arc::new(InMemoryRegistry::new());
    let store = Store::open(&dir.path().join("data"), registry)
        .await
        .expect("open the store");
    // A read-only side connection to count the audit batches (group commits) each run made.
    let db = dir.path().join("data").join(DB_FILE);
    let mut side =
        SqliteConnection::connect_with(&SqliteConnectOptions::new().filename(&db).read_only(true))
            .await
            .expect("side connection");
    let ids = Arc::new(AtomicU64::new(0));
    let mut results = Vec::new();
    for c in WRITE_CONCURRENCY {
        let batches_before = audit_batches(&mut side).await;
        let io_before = proc_io("wchar");
        let switches_before = context_switches();
        let cpu_before = thread_cpu();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(WRITE_SECONDS);
        let tasks: Vec<_> = (0..c as u64)
            .map(|t| {
                let store = store.clone();
                let ids = Arc::clone(&ids);
                tokio::spawn(async move {
                    let mut latencies: Vec<u32> = Vec::new();
                    while Instant::now() < deadline {
                        let id = ids.fetch_add(1, Ordering::Relaxed);
                        let (m, e) = key(0x7717 ^ t, id);
                        let event = Event::OptedOut(OptOutRow {
                            record_id: format!("opt-{:016x}{id:016x}", mix(2, id)),
                            msisdn: m.to_string(),
                            enterprise: enterprise(e),
                            scope: 1,
                            opted_out: true,
                            channel: proto::Channel::Api as i32,
                            at_ns: now_ns(),
                        });
                        let sent = Instant::now();
                        store.commit(vec![event]).await.expect("commit");
                        latencies.push(sent.elapsed().as_nanos().min(u128::from(u32::MAX)) as u32);
                    }
                    latencies
                })
            })
            .collect();
        let mut latencies: Vec<u32> = Vec::new();
        for task in tasks {
            latencies.extend(task.await.expect("writer task"));
        }
        let elapsed = started.elapsed().as_secs_f64();
        let switches = context_switches() - switches_before;
        let cpu = thread_cpu();
        let (sqlite_cpu, other_cpu) = (cpu.0 - cpu_before.0, cpu.1 - cpu_before.1);
        let written = proc_io("wchar") - io_before;
        let batches = audit_batches(&mut side).await - batches_before;
        latencies.sort_unstable();
        let writes = latencies.len() as f64;
        let rate = writes / elapsed;
        let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));
        println!(
            "acknowledged writes, {c} concurrent: {rate:.0}/s, ack p50 {p50:.2} ms, p99 {p99:.2} ms ({} writes in {elapsed:.1} s; {:.0} writes per group commit; per write: {:.1} KiB written, {:.1} context switches, CPU {:.0} us in the SQLite worker + {:.0} us elsewhere) (aim 20,000/s)",
            latencies.len(),
            writes / batches.max(1) as f64,
            written as f64 / writes / 1024.0,
            switches as f64 / writes,
            sqlite_cpu / writes * 1e6,
            other_cpu / writes * 1e6,
        );
        results.push(json!({
            "concurrency": c,
            "writes_per_s": rate.round(),
            "ack_p50_ms": round2(p50),
            "ack_p99_ms": round2(p99),
            "writes_per_group_commit": round1(writes / batches.max(1) as f64),
            "kib_written_per_write": round1(written as f64 / writes / 1024.0),
            "context_switches_per_write": round1(switches as f64 / writes),
            "sqlite_worker_cpu_us_per_write": (sqlite_cpu / writes * 1e6).round(),
            "other_cpu_us_per_write": (other_cpu / writes * 1e6).round(),
            "sqlite_worker_busy_pct": (100.0 * sqlite_cpu / elapsed).round(),
        }));
    }
    figures.insert("acknowledged_writes".into(), Value::Array(results));
}

/// d. Registry.ImportOptOuts against a real daemon started in-process.
async fn import(figures: &mut serde_json::Map<String, Value>) {
    let regions = Arc::new(RegionTable::embedded().expect("embedded region table"));
    let dir = tempfile::tempdir().expect("temp dir");
    let source = ConfigSource {
        config_path: None,
        overrides: Overrides {
            grpc_addr: Some("127.0.0.1:0".into()),
            metrics_addr: Some("127.0.0.1:0".into()),
            data_dir: Some(dir.path().join("data")),
            senders: None,
            kafka_brokers: None,
            kafka_group: None,
        },
    };
    let config = config::load(&source, &regions).expect("embedded config is valid");
    let listeners = Listeners::bind(config.server.grpc_addr, config.server.metrics_addr)
        .await
        .expect("bind 127.0.0.1:0");
    let grpc_addr = listeners.grpc.local_addr().expect("local address");
    let registry = Arc::new(InMemoryRegistry::new());
    let deps = Deps {
        clock: Arc::new(SystemClock),
        registry: Arc::clone(&registry),
        regions,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let daemon = tokio::spawn(server::run(config, listeners, deps, async move {
        let _ = stopped.await;
    }));
    let mut client = None;
    for _ in 0..100 {
        if let Ok(c) = RegistryClient::connect(format!("http://{grpc_addr}")).await {
            client = Some(c);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut client = client.expect("the daemon accepts connections");
    let requests: Vec<proto::OptOutRequest> = (0..IMPORT_ROWS as u64)
        .map(|i| {
            let (m, e) = key(0x1a2b, i);
            proto::OptOutRequest {
                msisdn: m.to_string(),
                enterprise_id: enterprise(e),
                scope: proto::OptOutScope::Commercial as i32,
                channel: proto::Channel::Import as i32,
                at: None,
            }
        })
        .collect();
    let io_before = proc_io("wchar");
    let cpu_before = thread_cpu();
    let started = Instant::now();
    let summary = client
        .import_opt_outs(futures::stream::iter(requests))
        .await
        .expect("ImportOptOuts")
        .into_inner();
    let elapsed = started.elapsed().as_secs_f64();
    let written = proc_io("wchar") - io_before;
    let cpu = thread_cpu();
    let (sqlite_cpu, other_cpu) = (cpu.0 - cpu_before.0, cpu.1 - cpu_before.1);
    let rate = summary.accepted as f64 / elapsed;
    let rows = summary.accepted.max(1) as f64;
    println!(
        "optout import (Registry.ImportOptOuts): {rate:.0} rows/s ({} accepted, {} rejected in {elapsed:.2} s; {} now in the registry; per row: {:.1} KiB written, CPU {:.0} us in the SQLite worker + {:.0} us elsewhere) (no aim given)",
        summary.accepted,
        summary.rejected,
        registry.sizes().1,
        written as f64 / rows / 1024.0,
        sqlite_cpu / rows * 1e6,
        other_cpu / rows * 1e6,
    );
    figures.insert(
        "import_kib_written_per_row".into(),
        json!(round1(written as f64 / rows / 1024.0)),
    );
    figures.insert(
        "import_sqlite_worker_cpu_us_per_row".into(),
        json!((sqlite_cpu / rows * 1e6).round()),
    );
    figures.insert(
        "import_other_cpu_us_per_row".into(),
        json!((other_cpu / rows * 1e6).round()),
    );
    figures.insert("import_rows".into(), json!(summary.accepted));
    figures.insert("import_rows_per_s".into(), json!(rate.round()));
    let _ = stop.send(());
    daemon
        .await
        .expect("daemon task")
        .expect("daemon stops cleanly");
}

#[tokio::main]
async fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .map(|s| s.replace(['_', ','], "").parse().expect("N is a count"))
        .unwrap_or(10_000_000);
    let mut figures = serde_json::Map::new();
    figures.insert("n".into(), json!(n));
    figures.insert(
        "cores".into(),
        json!(std::thread::available_parallelism().map_or(0, usize::from)),
    );
    let phases = std::env::var("REGISTRY_SCALE_PHASES")
        .unwrap_or_else(|_| "memory,startup,writes,import".to_owned());
    let run = |phase: &str| phases.split(',').any(|p| p.trim() == phase);
    if run("memory") {
        memory(n, &mut figures);
    }
    if run("startup") {
        startup(n, &mut figures).await;
    }
    if run("writes") {
        writes(&mut figures).await;
    }
    if run("import") {
        import(&mut figures).await;
    }
    println!("{}", Value::Object(figures));
}
