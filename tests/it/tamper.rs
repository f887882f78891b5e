//! Tampering is caught: a row edited with the sqlite3 CLI is named by VerifyAudit; a rewrite of the
//! whole chain (every hash recomputed) passes a plain walk but not a head pinned earlier.

use portcullis::proto::compliance_client::ComplianceClient;
use portcullis::proto::registry_client::RegistryClient;
use portcullis::proto::{self, VerifyAuditReport};
use portcullis::store::audit;
use sqlx::Row;

use crate::util::*;

async fn write_some(d: &TestDaemon) {
    let channel = d.channel().await;
    let mut registry = RegistryClient::new(channel);
    for i in 0..5u32 {
        registry
            .record_consent(proto::RecordConsentRequest {
                msisdn: format!("1390000000{i}"),
                enterprise_id: "ent-jd".into(),
                evidence_ref: format!("form-{i}"),
                evidence_sha256: proof_hash(i),
                ..Default::default()
            })
            .await
            .unwrap();
        registry
            .opt_out(proto::OptOutRequest {
                msisdn: format!("1370000000{i}"),
                enterprise_id: "ent-jd".into(),
                ..Default::default()
            })
            .await
            .unwrap();
    }
}

async fn verify(d: &TestDaemon, pin: Option<(u64, String)>) -> VerifyAuditReport {
    let channel = d.channel().await;
    let (expect_seq, expect_hash) = pin.unwrap_or_default();
    ComplianceClient::new(channel)
        .verify_audit(proto::VerifyAuditRequest {
            expect_seq,
            expect_hash,
        })
        .await
        .unwrap()
        .into_inner()
}

fn sqlite3(db: &std::path::Path, sql: &str) {
    let out = std::process::Command::new("sqlite3")
        .arg(db)
        .arg(sql)
        .output()
        .expect("the sqlite3 CLI is installed");
    assert!(
        out.status.success(),
        "sqlite3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn an_edited_record_is_named() {
    let d = TestDaemon::start().await;
    write_some(&d).await;
    let clean = verify(&d, None).await;
    assert!(clean.ok, "{clean:?}");
    assert_eq!(
        clean.records, 11,
        "ten writes and this VerifyAudit's own record"
    );
    let db = d.dir.path().join("data/portcullis.db");
    // Someone changes the proof hash of the third record's consent, in the chain itself.
    sqlite3(
        &db,
        "UPDATE audit_events SET payload = replace(payload, 'form-1', 'form-X') WHERE seq = 3",
    );
    let broken = verify(&d, None).await;
    assert!(!broken.ok);
    assert_eq!(broken.first_bad_seq, 3, "{broken:?}");
    assert!(broken.detail.contains("record 3"), "{broken:?}");
    d.stop().await;
}

#[tokio::test]
async fn an_edited_state_row_is_caught_by_the_replay() {
    let d = TestDaemon::start().await;
    write_some(&d).await;
    let db = d.dir.path().join("data/portcullis.db");
    // The chain is intact but the opt-out table says otherwise.
    sqlite3(
        &db,
        "UPDATE opt_outs SET opted_out = 0 WHERE msisdn = '13700000002'",
    );
    let broken = verify(&d, None).await;
    assert!(!broken.ok);
    assert_eq!(
        broken.first_bad_seq, 6,
        "the opt-out event of 13700000002 is record 6: {broken:?}"
    );
    assert!(broken.detail.contains("opt_outs"), "{broken:?}");
    d.stop().await;
}

#[tokio::test]
async fn a_rewritten_chain_fails_against_a_pinned_head() {
    let data = tempfile::tempdir().unwrap();
    let options = || DaemonOptions {
        data_dir: Some(data.path().to_path_buf()),
        ..Default::default()
    };
    let d = TestDaemon::start_with(options()).await;
    write_some(&d).await;
    let pinned = verify(&d, None).await;
    let pin = (pinned.head_seq, pinned.head_hash.clone());
    assert!(verify(&d, Some(pin.clone())).await.ok);
    // The rewrite happens while the daemon is stopped: a running writer links its next batch (a
    // VerifyAudit is audited) to the head it holds in memory, which would give the rewrite away.
    d.stop().await;

    // Rewrite: change record 1, then recompute every record and batch hash so the walk passes.
    let db = data.path().join("portcullis.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let rows = sqlx::query("SELECT seq, kind, at_ns, payload FROM audit_events ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut hashes = std::collections::BTreeMap::new();
    for r in rows {
        let seq: i64 = r.get("seq");
        let kind: String = r.get("kind");
        let at_ns: i64 = r.get("at_ns");
        let mut payload: String = r.get("payload");
        if seq == 1 {
            payload = payload.replace("form-0", "form-forged");
        }
        let h = audit::record_hash(seq as u64, &kind, at_ns, &payload);
        sqlx::query("UPDATE audit_events SET payload = ?, hash = ? WHERE seq = ?")
            .bind(&payload)
            .bind(audit::to_hex(&h))
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap();
        hashes.insert(seq as u64, h);
    }
    let batches =
        sqlx::query("SELECT batch_id, first_seq, last_seq FROM audit_batches ORDER BY batch_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut prev = audit::GENESIS;
    for b in batches {
        let (first, last): (i64, i64) = (b.get("first_seq"), b.get("last_seq"));
        let h = audit::batch_hash(&prev, (first as u64..=last as u64).map(|s| &hashes[&s]));
        sqlx::query("UPDATE audit_batches SET prev_hash = ?, hash = ? WHERE batch_id = ?")
            .bind(audit::to_hex(&prev))
            .bind(audit::to_hex(&h))
            .bind(b.get::<i64, _>("batch_id"))
            .execute(&pool)
            .await
            .unwrap();
        prev = h;
    }
    sqlx::query("UPDATE consents SET evidence_ref = 'form-forged' WHERE evidence_ref = 'form-0'")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let d = TestDaemon::start_with(options()).await;
    let walk = verify(&d, None).await;
    assert!(
        walk.ok,
        "a consistent rewrite passes a plain walk: {walk:?}"
    );
    let pinned_check = verify(&d, Some(pin)).await;
    assert!(!pinned_check.ok, "{pinned_check:?}");
    assert!(
        pinned_check.detail.contains("rewritten"),
        "{pinned_check:?}"
    );
    d.stop().await;
}
