-- tend schema 1: tenancy, identity, enrollment, hosts, time series.
-- Timestamps are integer milliseconds since the Unix epoch, UTC. Booleans are 0/1 integers so
-- that both backends read them the same way.

CREATE TABLE clients (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE sites (
    id          INTEGER PRIMARY KEY,
    client_id   BIGINT  NOT NULL REFERENCES clients (id),
    name        TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    UNIQUE (client_id, name)
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    username       TEXT    NOT NULL UNIQUE,
    password_hash  TEXT    NOT NULL,
    role           TEXT    NOT NULL,
    support_level  TEXT,
    client_id      BIGINT  REFERENCES clients (id),
    created_at     BIGINT  NOT NULL,
    disabled       BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    name          TEXT    NOT NULL,
    token_hash    TEXT    NOT NULL UNIQUE,
    created_at    BIGINT  NOT NULL,
    last_used_at  BIGINT,
    revoked_at    BIGINT
);

CREATE TABLE sessions (
    id            INTEGER PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id),
    session_hash  TEXT    NOT NULL UNIQUE,
    csrf_token    TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL
);

CREATE TABLE enrollment_tokens (
    id            INTEGER PRIMARY KEY,
    client_id     BIGINT  NOT NULL REFERENCES clients (id),
    site_id       BIGINT  REFERENCES sites (id),
    token_hash    TEXT    NOT NULL UNIQUE,
    created_by    BIGINT  REFERENCES users (id),
    created_at    BIGINT  NOT NULL,
    expires_at    BIGINT  NOT NULL,
    uses_allowed  BIGINT  NOT NULL,
    uses_left     BIGINT  NOT NULL,
    revoked_at    BIGINT
);

CREATE TABLE hosts (
    id                    INTEGER PRIMARY KEY,
    client_id             BIGINT  NOT NULL REFERENCES clients (id),
    site_id               BIGINT  REFERENCES sites (id),
    hostname              TEXT    NOT NULL,
    machine_id            TEXT,
    created_at            BIGINT  NOT NULL,
    report_interval_secs  BIGINT  NOT NULL,
    last_seen_at          BIGINT,
    stopped               BIGINT  NOT NULL DEFAULT 0,
    facts                 TEXT,
    facts_updated_at      BIGINT
);
CREATE INDEX hosts_client ON hosts (client_id);
CREATE INDEX hosts_machine ON hosts (client_id, machine_id);

CREATE TABLE agents (
    id                   INTEGER PRIMARY KEY,
    host_id              BIGINT  NOT NULL REFERENCES hosts (id),
    credential_hash      TEXT    NOT NULL UNIQUE,
    enrollment_token_id  BIGINT  REFERENCES enrollment_tokens (id),
    enrolled_at          BIGINT  NOT NULL,
    revoked_at           BIGINT,
    last_seq             BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX agents_host ON agents (host_id);

CREATE TABLE series (
    id          INTEGER PRIMARY KEY,
    host_id     BIGINT  NOT NULL REFERENCES hosts (id),
    name        TEXT    NOT NULL,
    labels      TEXT    NOT NULL,
    last_ts     BIGINT  NOT NULL,
    last_value  DOUBLE PRECISION NOT NULL,
    UNIQUE (host_id, name, labels)
);

CREATE TABLE samples (
    series_id  BIGINT            NOT NULL,
    ts         BIGINT            NOT NULL,
    value      DOUBLE PRECISION  NOT NULL,
    PRIMARY KEY (series_id, ts)
) WITHOUT ROWID;
