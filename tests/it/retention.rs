//! Retention with an injected clock: nothing is purged before the five-month floor, records past the
//! floor and the maximum become tombstones, a refusal in force is never purged, and the chain still
//! verifies afterwards.

use std::sync::Arc;

use jiff::Timestamp;
use portcullis::registry::InMemoryRegistry;
use portcullis::store::event::{ComplaintRow, ConsentRow, Event, OptOutRow};
use portcullis::store::retention::RetentionPolicy;
use portcullis::store::{IdempotencyRow, Store, verify_chain};

fn ns(t: &str) -> i64 {
    i64::try_from(t.parse::<Timestamp>().unwrap().as_nanosecond()).unwrap()
}

fn consent(
    id: &str,
    msisdn: &str,
    granted: &str,
    revoked: Option<&str>,
    expires: Option<&str>,
) -> Event {
    Event::ConsentGranted(ConsentRow {
        consent_id: id.into(),
        msisdn: msisdn.into(),
        enterprise: "ent-jd".into(),
        channel: 1,
        evidence_ref: format!("form-{id}"),
        evidence_sha256: format!("{:064x}", 7),
        scope: 0b1000,
        granted_at_ns: ns(granted),
        expires_at_ns: expires.map(ns),
        revoked_at_ns: revoked.map(ns),
        recorded_at_ns: ns(granted),
    })
}

fn opt(id: &str, msisdn: &str, at: &str, opted_out: bool) -> OptOutRow {
    OptOutRow {
        record_id: id.into(),
        msisdn: msisdn.into(),
        enterprise: "ent-jd".into(),
        scope: 1,
        opted_out,
        channel: 6,
        at_ns: ns(at),
    }
}

fn policy() -> RetentionPolicy {
    RetentionPolicy {
        consent_months: 6,
        max_months: 24,
        timezone: jiff::tz::TimeZone::get("Asia/Shanghai").unwrap(),
    }
}

#[tokio::test]
async fn records_past_the_floor_and_the_maximum_become_tombstones() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Arc::new(InMemoryRegistry::new()))
        .await
        .unwrap();
    store
        .commit(vec![
            // Revoked in 2023: past the floor and recorded more than 24 months before 2026-06.
            consent(
                "old",
                "13900000001",
                "2023-01-01T00:00:00Z",
                Some("2023-06-01T00:00:00Z"),
                None,
            ),
            // Recorded long ago but revoked only 2 months before "now": the floor keeps it.
            consent(
                "recent-end",
                "13900000002",
                "2023-01-01T00:00:00Z",
                Some("2026-04-01T00:00:00Z"),
                None,
            ),
            // Still in force: never purged.
            consent("live", "13900000003", "2023-01-01T00:00:00Z", None, None),
            // Expires in 2026-03: an expiry event is recorded when it passes.
            consent(
                "expiring",
                "13900000004",
                "2026-01-01T00:00:00Z",
                None,
                Some("2026-03-01T00:00:00Z"),
            ),
            // An opt-out superseded by an opt-in, both old: both go, and the state row with them.
            Event::OptedOut(opt("o1", "13700000001", "2023-02-01T00:00:00Z", true)),
            Event::OptedIn(opt("o2", "13700000001", "2023-03-01T00:00:00Z", false)),
            // An old refusal still in force: kept.
            Event::OptedOut(opt("o3", "13700000002", "2023-02-01T00:00:00Z", true)),
            Event::Complaint(ComplaintRow {
                complaint_id: "cmp-old".into(),
                msisdn: "13600000001".into(),
                sender_port: "1069009527".into(),
                enterprise: "ent-jd".into(),
                province: "北京".into(),
                received_at_ns: ns("2023-02-01T00:00:00Z"),
                source: "12321".into(),
                text: "广告太多".into(),
                message_id: String::new(),
                wrong_recipient: false,
                fingerprint: String::new(),
            }),
        ])
        .await
        .unwrap();

    // Before any floor has passed, nothing is purged (only the expiry is recorded once due).
    let early = store
        .apply_retention("2023-07-01T00:00:00Z".parse().unwrap(), &policy())
        .await
        .unwrap();
    assert_eq!(early.records_purged, 0);

    let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
    let report = store.apply_retention(now, &policy()).await.unwrap();
    assert_eq!(report.expiries_recorded, 1);
    // old consent (1 record) + o1 + o2 + the complaint.
    assert_eq!(report.records_purged, 4, "{report:?}");
    // Idempotent: a second pass finds nothing more.
    let again = store.apply_retention(now, &policy()).await.unwrap();
    assert_eq!((again.expiries_recorded, again.records_purged), (0, 0));

    let history = store
        .registry_events(Some("13900000002"), None, (None, None))
        .await
        .unwrap();
    assert_eq!(
        history.len(),
        1,
        "the floor keeps a consent revoked 2 months ago"
    );
    assert!(
        store
            .registry_events(Some("13900000001"), None, (None, None))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .registry_events(Some("13700000002"), None, (None, None))
            .await
            .unwrap()
            .len(),
        1
    );
    let consents = store.consents_for("13900000001", "ent-jd").await.unwrap();
    assert!(
        consents.is_empty(),
        "the purged consent's state row is gone"
    );

    let pool = portcullis::store::open_read_only(dir.path()).await.unwrap();
    let verified = verify_chain(&pool, None).await.unwrap();
    assert!(
        verified.ok,
        "tombstones keep the chain intact: {verified:?}"
    );
    assert_eq!(verified.records, 9, "8 events and 1 recorded expiry");
}

#[tokio::test]
async fn an_erasure_request_is_carried_out_as_far_as_the_floor_allows() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Arc::new(InMemoryRegistry::new()))
        .await
        .unwrap();
    let sub = "13900000009";
    store
        .commit(vec![
            // Ended a year ago: past the floor, but younger than the 24-month maximum.
            consent(
                "gone",
                sub,
                "2025-01-01T00:00:00Z",
                Some("2025-06-01T00:00:00Z"),
                None,
            ),
            // Ended a month ago: the floor holds it.
            consent(
                "held",
                sub,
                "2025-01-01T00:00:00Z",
                Some("2026-05-01T00:00:00Z"),
                None,
            ),
            // A refusal in force protects the subscriber: kept.
            Event::OptedOut(opt("o-live", sub, "2025-02-01T00:00:00Z", true)),
            // Someone else's record is untouched.
            consent(
                "other",
                "13900000008",
                "2025-01-01T00:00:00Z",
                Some("2025-06-01T00:00:00Z"),
                None,
            ),
        ])
        .await
        .unwrap();
    let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
    let (id, held, complete_by) = store
        .request_erasure(
            sub,
            "subscriber request via 10086",
            "ops-li",
            "era-1".into(),
            now,
            &policy(),
        )
        .await
        .unwrap();
    assert_eq!(id, "era-1");
    assert_eq!(
        held, 2,
        "the consent within its floor and the refusal in force are held"
    );
    assert_eq!(complete_by, None, "a refusal in force has no end");

    let left = store
        .registry_events(Some(sub), None, (None, None))
        .await
        .unwrap();
    let kinds: Vec<&str> = left.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        vec!["consent_granted", "opted_out", "erasure_requested"],
        "{kinds:?}"
    );
    assert!(
        store
            .consents_for(sub, "ent-jd")
            .await
            .unwrap()
            .iter()
            .all(|c| c.consent_id == "held")
    );
    assert_eq!(
        store
            .consents_for("13900000008", "ent-jd")
            .await
            .unwrap()
            .len(),
        1
    );

    // Once the floor has passed for the held consent, the retention task finishes the job.
    let later: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
    let report = store.apply_retention(later, &policy()).await.unwrap();
    assert_eq!(report.records_purged, 1, "{report:?}");
    let left = store
        .registry_events(Some(sub), None, (None, None))
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        vec!["opted_out", "erasure_requested"]
    );

    let pool = portcullis::store::open_read_only(dir.path()).await.unwrap();
    let verified = verify_chain(&pool, None).await.unwrap();
    assert!(verified.ok, "{verified:?}");
}

/// A compliance query naming a subscriber is one of that subscriber's records: erasure and the
/// maximum take it as they take a decision; one naming nobody goes with the maximum.
#[tokio::test]
async fn compliance_query_records_go_with_the_subscriber_they_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Arc::new(InMemoryRegistry::new()))
        .await
        .unwrap();
    let sub = "13900000009";
    let query = |msisdn: &str, at: &str| Event::ComplianceQuery {
        client: "compliance-desk".into(),
        method: "ConsentHistory".into(),
        msisdn: msisdn.into(),
        enterprise: String::new(),
        filter_json: format!("{{\"msisdn\":\"{msisdn}\"}}"),
        at_ns: ns(at),
    };
    let seqs = store
        .commit(vec![
            // Past the floor: erasure takes it.
            query(sub, "2025-01-01T00:00:00Z"),
            // Within the floor: held, and counted as held.
            query(sub, "2026-05-01T00:00:00Z"),
            // Someone else's, past the floor but younger than the maximum: kept.
            query("13900000008", "2025-01-01T00:00:00Z"),
            // Naming nobody: older than the maximum goes, younger stays.
            query("", "2023-01-01T00:00:00Z"),
            query("", "2025-01-01T00:00:00Z"),
        ])
        .await
        .unwrap();
    let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
    let (_, held, complete_by) = store
        .request_erasure(
            sub,
            "subscriber request",
            "ops-li",
            "era-1".into(),
            now,
            &policy(),
        )
        .await
        .unwrap();
    assert_eq!(held, 1, "the query within the floor");
    assert_eq!(
        complete_by,
        Some(ns("2026-11-01T00:00:00Z")),
        "six months after the last held record"
    );
    let report = store.apply_retention(now, &policy()).await.unwrap();
    assert_eq!(
        report.records_purged, 1,
        "the query naming nobody, from 2023"
    );

    let pool = portcullis::store::open_read_only(dir.path()).await.unwrap();
    let purged: Vec<bool> = {
        let mut out = Vec::new();
        for seq in &seqs {
            let payload: Option<String> =
                sqlx::query_scalar("SELECT payload FROM audit_events WHERE seq = ?")
                    .bind(*seq as i64)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            out.push(payload.is_none());
        }
        out
    };
    assert_eq!(purged, vec![true, false, false, true, false]);
    assert!(
        store
            .registry_events(Some(sub), None, (None, None))
            .await
            .unwrap()
            .iter()
            .all(|e| e.kind == "erasure_requested"),
        "ConsentHistory never lists query records"
    );
    let verified = verify_chain(&pool, None).await.unwrap();
    assert!(verified.ok, "{verified:?}");
}

fn decided(message_id: &str, until_s: i64) -> IdempotencyRow {
    IdempotencyRow {
        sender_port: "1069012345".into(),
        message_id: message_id.into(),
        verdict: 1,
        decision_id: format!("d-{message_id}"),
        text_hash: 7,
        until_s,
        decided_at_s: until_s - 86_400,
        msisdn: 8_613_800_138_000,
        enterprise: "ent-jd".into(),
        category: 0,
        dup_hash: 9,
        decision: vec![1, 2, 3],
    }
}

/// Final decisions are kept for their idempotency TTL, not for ever: a prune at `now` drops the
/// ones whose TTL has ended and keeps the rest, and a rewrite of a key keeps its last row.
#[tokio::test]
async fn expired_final_decisions_are_pruned_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Arc::new(InMemoryRegistry::new()))
        .await
        .unwrap();
    let now = 1_800_000_000;
    // 300 rows over several multi-row statements; m-0..m-99 expired, the rest live. m-150 is
    // written twice in one batch: the later row (a longer TTL) must win.
    let mut rows: Vec<IdempotencyRow> = (0..300)
        .map(|i| {
            decided(
                &format!("m-{i}"),
                if i < 100 { now - 10 + i % 10 } else { now + 60 },
            )
        })
        .collect();
    rows.push(decided("m-150", now + 3_600));
    let done = store.enqueue(Vec::new(), rows).await.unwrap();
    done.await.unwrap().unwrap();
    assert_eq!(store.load_idempotency(0).await.unwrap().len(), 300);

    store.prune_idempotency(now);
    store.flush().await.unwrap();
    let left = store.load_idempotency(0).await.unwrap();
    assert_eq!(left.len(), 200, "the 100 rows with until_s <= now are gone");
    assert!(left.iter().all(|r| r.until_s > now));
    let m150 = left.iter().find(|r| r.message_id == "m-150").unwrap();
    assert_eq!(m150.until_s, now + 3_600);
}
