-- tend schema 10: backup plans per host and the events agents report about their backup work.

-- A host's restic plan. `body` is tend_proto::backups::BackupPlan as JSON with an empty
-- password; the password is only in `password_sealed`, sealed by the server's vault key
-- (bound to the host and the plan's name), so the database alone opens no repository.
CREATE TABLE backup_plans (
    id               INTEGER PRIMARY KEY,
    client_id        BIGINT  NOT NULL REFERENCES clients (id),
    host_id          BIGINT  NOT NULL REFERENCES hosts (id),
    name             TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    password_sealed  TEXT    NOT NULL,
    created_by       BIGINT  REFERENCES users (id),
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    UNIQUE (host_id, name)
);

-- One backup, forget, check or restore test an agent reported (`body` is the event as JSON).
-- The unique key is what the agent cannot send twice differently: a replayed report, or the
-- same event in two reports, is stored once.
CREATE TABLE backup_events (
    id           INTEGER PRIMARY KEY,
    client_id    BIGINT  NOT NULL REFERENCES clients (id),
    host_id      BIGINT  NOT NULL REFERENCES hosts (id),
    plan         TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    ok           BIGINT  NOT NULL,
    started_at   BIGINT  NOT NULL,
    duration_ms  BIGINT  NOT NULL,
    body         TEXT    NOT NULL,
    agent_id     BIGINT  NOT NULL REFERENCES agents (id),
    report_seq   BIGINT  NOT NULL,
    UNIQUE (agent_id, report_seq, kind, plan, started_at)
);
-- A host's events, newest first; the overview's latest (and latest good) per plan and kind.
CREATE INDEX backup_events_host ON backup_events (host_id, started_at);
CREATE INDEX backup_events_latest ON backup_events (host_id, plan, kind, ok, started_at);
