-- tend schema 4: synthetic probes the server runs on a schedule.

CREATE TABLE probes (
    id                INTEGER PRIMARY KEY,
    client_id         BIGINT  NOT NULL REFERENCES clients (id),
    site_id           BIGINT  REFERENCES sites (id),
    host_id           BIGINT  REFERENCES hosts (id),
    name              TEXT    NOT NULL,
    spec              TEXT    NOT NULL,
    interval_secs     BIGINT  NOT NULL,
    timeout_secs      BIGINT  NOT NULL,
    pending_for_secs  BIGINT  NOT NULL,
    next_run_at       BIGINT  NOT NULL,
    lease_owner       TEXT,
    lease_until       BIGINT,
    last_run_at       BIGINT,
    last_outcome      TEXT,
    created_at        BIGINT  NOT NULL,
    UNIQUE (client_id, name)
);
CREATE INDEX probes_due ON probes (next_run_at);
