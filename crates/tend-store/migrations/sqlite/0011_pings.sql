-- tend schema 11: heartbeat checks of cron jobs and backup tools, and the pings they send.

-- A check expects a success ping every `period_secs`, tolerating `grace_secs`. Its ping URL
-- carries a secret; only the secret's SHA-256 is stored, like enrollment tokens'.
CREATE TABLE ping_checks (
    id           INTEGER PRIMARY KEY,
    client_id    BIGINT  NOT NULL REFERENCES clients (id),
    host_id      BIGINT  REFERENCES hosts (id),
    name         TEXT    NOT NULL,
    token_hash   TEXT    NOT NULL UNIQUE,
    period_secs  BIGINT  NOT NULL,
    grace_secs   BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL,
    UNIQUE (client_id, name)
);

-- One ping: `kind` is start, success, fail or log; `body` the job's log (bounded by the
-- server). Only the last 100 of a check are kept.
CREATE TABLE pings (
    id           INTEGER PRIMARY KEY,
    check_id     BIGINT  NOT NULL REFERENCES ping_checks (id),
    kind         TEXT    NOT NULL,
    exit_status  BIGINT,
    body         TEXT    NOT NULL,
    received_at  BIGINT  NOT NULL,
    remote_addr  TEXT
);
-- A check's last ping of each kind, and its newest pings.
CREATE INDEX pings_check ON pings (check_id, kind, received_at);
