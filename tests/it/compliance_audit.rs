//! Every compliance query and export is written to the audit trail with the client and the filter
//! before it is answered; an unauditable query is refused; the chain still verifies.

use portcullis::proto::compliance_client::ComplianceClient;
use portcullis::proto::registry_client::RegistryClient;
use portcullis::proto::{self, ConsentEventKind};
use portcullis::store::event::Event;
use sqlx::Row;

use crate::util::*;

const SUB: &str = "13800138000";
const MARKETING_JD: &str = "【京东】双11狂欢返场，家电低至5折，满300减50，领券 jd.com/sale 退订回T";

/// (msisdn column, event) of every compliance_query record, in chain order.
pub(crate) async fn compliance_records(data_dir: &std::path::Path) -> Vec<(Option<String>, Event)> {
    let pool = portcullis::store::open_read_only(data_dir).await.unwrap();
    let rows = sqlx::query(
        "SELECT msisdn, payload FROM audit_events WHERE kind = 'compliance_query' ORDER BY seq",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let out = rows
        .iter()
        .map(|r| {
            let payload: String = r.get("payload");
            (r.get("msisdn"), serde_json::from_str(&payload).unwrap())
        })
        .collect();
    pool.close().await;
    out
}

pub(crate) fn filter(e: &Event) -> (&str, &str, serde_json::Value) {
    let Event::ComplianceQuery {
        client,
        method,
        filter_json,
        ..
    } = e
    else {
        panic!("not a compliance query: {e:?}");
    };
    (client, method, serde_json::from_str(filter_json).unwrap())
}

#[tokio::test]
async fn compliance_queries_are_audited_with_client_method_and_filter() {
    let data = tempfile::tempdir().unwrap();
    let d = TestDaemon::start_with(DaemonOptions {
        data_dir: Some(data.path().to_path_buf()),
        ..Default::default()
    })
    .await;
    let channel = d.channel().await;
    let mut registry = RegistryClient::new(channel.clone());
    let mut compliance = ComplianceClient::new(channel);
    registry
        .record_consent(proto::RecordConsentRequest {
            msisdn: SUB.into(),
            enterprise_id: "ent-jd".into(),
            evidence_ref: "form-1".into(),
            evidence_sha256: proof_hash(1),
            ..Default::default()
        })
        .await
        .unwrap();
    let released = d.screen(request(JD, SUB, MARKETING_JD)).await;
    assert_eq!(released.verdict(), proto::Verdict::Release, "{released:?}");

    // Twice each: the second answer must not include the first query's own audit record.
    for _ in 0..2 {
        let mut history = compliance
            .consent_history(proto::ConsentQuery {
                msisdn: "+86 138-0013-8000".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let mut kinds = Vec::new();
        while let Some(e) = history.message().await.unwrap() {
            kinds.push(e.kind());
        }
        assert_eq!(kinds, vec![ConsentEventKind::Granted]);
    }
    let mut found = Vec::new();
    for _ in 0..50 {
        let mut stream = compliance
            .decisions(proto::DecisionQuery {
                msisdn: SUB.into(),
                enterprise_id: "ent-jd".into(),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        found.clear();
        while let Some(r) = stream.message().await.unwrap() {
            found.push(r);
        }
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        found.len(),
        1,
        "only the decision, no query records: {found:?}"
    );
    assert_eq!(
        found[0].decision.as_ref().unwrap().decision_id,
        released.decision_id
    );
    // An enterprise-wide export names no subscriber.
    compliance
        .consent_history(proto::ConsentQuery {
            enterprise_id: "ent-jd".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    // A refused request is not a query: nothing was disclosed.
    compliance
        .consent_history(proto::ConsentQuery::default())
        .await
        .unwrap_err();

    let report = compliance
        .verify_audit(proto::VerifyAuditRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(report.ok, "{report:?}");

    let records = compliance_records(data.path()).await;
    let methods: Vec<&str> = records.iter().map(|(_, e)| filter(e).1).collect();
    assert!(
        methods.starts_with(&["ConsentHistory", "ConsentHistory"]),
        "{methods:?}"
    );
    assert_eq!(
        methods[methods.len() - 2..],
        ["ConsentHistory", "VerifyAudit"],
        "{methods:?}"
    );
    assert!(methods.contains(&"Decisions"), "{methods:?}");
    for (column, e) in &records {
        let (client, method, f) = filter(e);
        assert_eq!(client, "anonymous");
        match method {
            "ConsentHistory" if f["msisdn"].is_null() => {
                assert_eq!(f["enterprise_id"], "ent-jd", "{f}");
                assert_eq!(column.as_deref(), Some(""));
            }
            "ConsentHistory" => {
                assert_eq!(f["msisdn"], SUB, "normalised: {f}");
                assert_eq!(column.as_deref(), Some(SUB));
            }
            "Decisions" => {
                assert_eq!(f["msisdn"], SUB, "{f}");
                assert_eq!(f["enterprise_id"], "ent-jd", "{f}");
                assert_eq!(f["limit"], 10, "{f}");
                assert_eq!(column.as_deref(), Some(SUB));
            }
            "VerifyAudit" => assert_eq!(column.as_deref(), Some("")),
            other => panic!("unexpected method {other}"),
        }
    }
    // The VerifyAudit record is in the chain it reported on.
    assert_eq!(report.records as usize, 2 + methods.len());

    // `portcullis audit verify` agrees once the daemon is stopped.
    d.stop().await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["audit", "verify", "--data-dir"])
        .arg(data.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn a_query_that_cannot_be_audited_is_not_answered() {
    let d = TestDaemon::start().await;
    let mut compliance = ComplianceClient::new(d.channel().await);
    let before = compliance
        .verify_audit(proto::VerifyAuditRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(before.ok, "{before:?}");
    assert_eq!(before.records, 1, "this VerifyAudit: {before:?}");
    let db = d.dir.path().join("data/portcullis.db");
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query(
        "CREATE TRIGGER refuse_queries BEFORE INSERT ON audit_events WHEN NEW.kind = 'compliance_query' \
         BEGIN SELECT RAISE(ABORT, 'audit trail refuses'); END",
    )
    .execute(&pool)
    .await
    .unwrap();
    let status = compliance
        .consent_history(proto::ConsentQuery {
            msisdn: SUB.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    let status = compliance
        .verify_audit(proto::VerifyAuditRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");

    sqlx::query("DROP TRIGGER refuse_queries")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let report = compliance
        .verify_audit(proto::VerifyAuditRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(report.ok, "the failed batch left no trace: {report:?}");
    assert_eq!(report.records, 2, "only the two answered: {report:?}");
    d.stop().await;
}
