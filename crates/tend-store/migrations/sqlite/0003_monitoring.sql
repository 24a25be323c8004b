-- tend schema 3: checks, alerts and their history, maintenance windows, notifications.

-- Overrides of the built-in check settings, per layer (organisation, client, site, host).
CREATE TABLE check_overrides (
    id          INTEGER PRIMARY KEY,
    layer       TEXT    NOT NULL,
    layer_id    BIGINT  NOT NULL,
    check_name  TEXT    NOT NULL,
    settings    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    UNIQUE (layer, layer_id, check_name)
);

-- One row per dedup key (check, target): the alert's current state and its track.
CREATE TABLE alerts (
    id            INTEGER PRIMARY KEY,
    client_id     BIGINT  NOT NULL REFERENCES clients (id),
    host_id       BIGINT  REFERENCES hosts (id),
    check_name    TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    dedup_key     TEXT    NOT NULL UNIQUE,
    state         TEXT    NOT NULL,
    severity      TEXT,
    summary       TEXT    NOT NULL,
    track         TEXT    NOT NULL,
    evidence      TEXT    NOT NULL,
    opened_at     BIGINT,
    updated_at    BIGINT  NOT NULL,
    last_notified_at BIGINT
);
CREATE INDEX alerts_client_state ON alerts (client_id, state);
CREATE INDEX alerts_host ON alerts (host_id);

-- The alert history: append-only.
CREATE TABLE alert_events (
    id          INTEGER PRIMARY KEY,
    alert_id    BIGINT  NOT NULL REFERENCES alerts (id),
    at          BIGINT  NOT NULL,
    event       TEXT    NOT NULL,
    detail      TEXT    NOT NULL,
    notified    BIGINT  NOT NULL
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, at);

CREATE TABLE maintenance_windows (
    id             INTEGER PRIMARY KEY,
    client_id      BIGINT  NOT NULL REFERENCES clients (id),
    site_id        BIGINT,
    host_id        BIGINT,
    check_name     TEXT,
    kind           TEXT    NOT NULL,
    title          TEXT    NOT NULL,
    description    TEXT    NOT NULL,
    start_local    TEXT    NOT NULL,
    time_zone      TEXT    NOT NULL,
    duration_secs  BIGINT  NOT NULL,
    rrule          TEXT,
    ended_at       BIGINT,
    created_by     BIGINT,
    created_at     BIGINT  NOT NULL
);
CREATE INDEX maintenance_windows_client ON maintenance_windows (client_id);

-- Where notifications go: e-mail addresses and webhooks, for one client or all (NULL).
CREATE TABLE notification_channels (
    id            INTEGER PRIMARY KEY,
    client_id     BIGINT  REFERENCES clients (id),
    kind          TEXT    NOT NULL,
    target        TEXT    NOT NULL,
    min_severity  TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL
);

-- The outbox: written in the transaction that changes the alert, delivered by a worker.
CREATE TABLE notifications (
    id               INTEGER PRIMARY KEY,
    channel_id       BIGINT  NOT NULL REFERENCES notification_channels (id),
    alert_id         BIGINT  NOT NULL REFERENCES alerts (id),
    event            TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    status           TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    delivered_at     BIGINT,
    last_error       TEXT
);
CREATE INDEX notifications_due ON notifications (status, next_attempt_at);
