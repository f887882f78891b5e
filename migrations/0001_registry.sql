-- The audit chain and the registry state derived from it (ARCHITECTURE.md §3).
-- Every registry event and every audited decision is one row of audit_events, numbered by seq;
-- rows are committed in batches, and each batch's hash chains to the previous batch's.

CREATE TABLE audit_events (
    seq          INTEGER PRIMARY KEY,      -- one sequence number per record, from 1
    batch_id     INTEGER NOT NULL,
    kind         TEXT    NOT NULL,         -- consent_granted, consent_revoked, opted_out, opted_in, complaint, decision, ...
    at_ns        INTEGER NOT NULL,         -- when it happened (policy clock), unix nanoseconds
    msisdn       TEXT,                     -- query keys; NULL once purged
    enterprise   TEXT,
    sender_port  TEXT,
    message_id   TEXT,
    consent_id   TEXT,                     -- the consent an event is about, or a decision relied on
    payload      TEXT,                     -- canonical JSON; NULL for a purged record (tombstone)
    hash         TEXT    NOT NULL,         -- SHA-256 over (seq, kind, at_ns, payload), hex
    purged_at_ns INTEGER
);
CREATE INDEX audit_events_msisdn ON audit_events (msisdn, seq);
CREATE INDEX audit_events_enterprise ON audit_events (enterprise, seq);
CREATE INDEX audit_events_message ON audit_events (sender_port, message_id);
CREATE INDEX audit_events_kind_at ON audit_events (kind, at_ns);
CREATE INDEX audit_events_consent ON audit_events (consent_id, at_ns) WHERE consent_id IS NOT NULL;

CREATE TABLE audit_batches (
    batch_id   INTEGER PRIMARY KEY,
    first_seq  INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL,
    prev_hash  TEXT    NOT NULL,
    hash       TEXT    NOT NULL            -- SHA-256(prev_hash || record hashes), hex
);

CREATE TABLE consents (
    consent_id      TEXT PRIMARY KEY,
    msisdn          TEXT    NOT NULL,
    enterprise      TEXT    NOT NULL,
    channel         INTEGER NOT NULL,
    evidence_ref    TEXT    NOT NULL,
    evidence_sha256 TEXT    NOT NULL,
    scope           INTEGER NOT NULL,      -- CategorySet bits
    granted_at_ns   INTEGER NOT NULL,
    expires_at_ns   INTEGER,
    revoked_at_ns   INTEGER,
    recorded_at_ns  INTEGER NOT NULL
);
CREATE INDEX consents_pair ON consents (msisdn, enterprise);

CREATE TABLE opt_outs (
    msisdn     TEXT    NOT NULL,
    enterprise TEXT    NOT NULL,           -- '' = every enterprise (carrier-level refusal)
    scope      INTEGER NOT NULL,           -- 1 commercial, 2 collection
    opted_out  INTEGER NOT NULL,
    channel    INTEGER NOT NULL,
    at_ns      INTEGER NOT NULL,
    record_id  TEXT    NOT NULL,
    PRIMARY KEY (msisdn, enterprise, scope)
) WITHOUT ROWID;

CREATE TABLE complaints (
    complaint_id    TEXT PRIMARY KEY,
    msisdn          TEXT    NOT NULL,
    sender_port     TEXT    NOT NULL,
    enterprise      TEXT    NOT NULL,
    province        TEXT    NOT NULL,
    received_at_ns  INTEGER NOT NULL,
    source          TEXT    NOT NULL,
    message_id      TEXT    NOT NULL,
    wrong_recipient INTEGER NOT NULL
);
CREATE INDEX complaints_at ON complaints (received_at_ns);

-- API.md "Idempotency": final decisions per (sender_port, message_id) for idempotency.ttl_hours;
-- also what duplicate detection and the frequency cap are rebuilt from at start.
CREATE TABLE idempotency (
    sender_port  TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    verdict      INTEGER NOT NULL,
    decision_id  TEXT    NOT NULL,
    text_hash    INTEGER NOT NULL,
    until_s      INTEGER NOT NULL,
    decided_at_s INTEGER NOT NULL,
    msisdn       INTEGER NOT NULL,
    enterprise   TEXT    NOT NULL,
    category     INTEGER NOT NULL,
    dup_hash     INTEGER NOT NULL,
    decision     BLOB    NOT NULL,         -- the Decision as protobuf, returned unchanged on a retry
    PRIMARY KEY (sender_port, message_id)
) WITHOUT ROWID;
CREATE INDEX idempotency_until ON idempotency (until_s);
