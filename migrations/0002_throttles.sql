-- Operator blocks and complaint-rate policy overrides (Operations service). Both are derived from
-- their audit events (region_blocked, region_unblocked, region_policy_set) and survive restarts.

CREATE TABLE region_blocks (
    province   TEXT    NOT NULL,
    enterprise TEXT    NOT NULL,           -- '' = every enterprise
    categories INTEGER NOT NULL,           -- CategorySet bits
    reason     TEXT    NOT NULL,
    operator   TEXT    NOT NULL,
    since_ns   INTEGER NOT NULL,
    PRIMARY KEY (province, enterprise)
) WITHOUT ROWID;

CREATE TABLE region_policies (
    province            TEXT PRIMARY KEY,  -- '' = the default for every province
    warn_rate           REAL    NOT NULL,
    throttle_rate       REAL    NOT NULL,
    block_rate          REAL    NOT NULL,
    release_rate        REAL    NOT NULL,
    min_messages        INTEGER NOT NULL,
    min_complaints      INTEGER NOT NULL,
    throttle_msgs_per_s REAL    NOT NULL,
    set_at_ns           INTEGER NOT NULL
) WITHOUT ROWID;
