-- tend schema 6: the service desk: contracts, tickets and their history, SLA alarms, ticket
-- mail, the credential vault, the audit trail, and the typed jobs agents run.

-- What the provider owes one client. JSON columns hold the domain's own types
-- (tend_core::desk): the SLA policy with its calendar, the priority matrix, standing
-- authorizations.
CREATE TABLE contracts (
    client_id                BIGINT  PRIMARY KEY REFERENCES clients (id),
    model                    TEXT    NOT NULL,
    delivery                 TEXT    NOT NULL,
    services                 TEXT    NOT NULL,
    support_levels           TEXT    NOT NULL,
    sla_policy               TEXT    NOT NULL,
    priority_matrix          TEXT    NOT NULL,
    standing_authorizations  TEXT    NOT NULL,
    auto_close_days          BIGINT  NOT NULL,
    keep_credentials         BIGINT  NOT NULL DEFAULT 0,
    incident_min_severity    TEXT    NOT NULL DEFAULT 'critical',
    updated_at               BIGINT  NOT NULL
);

CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY,
    client_id         BIGINT  NOT NULL REFERENCES clients (id),
    kind              TEXT    NOT NULL,
    subject           TEXT    NOT NULL,
    description       TEXT    NOT NULL,
    requester_id      BIGINT  REFERENCES users (id),
    requester_email   TEXT,
    impact            TEXT    NOT NULL,
    urgency           TEXT    NOT NULL,
    priority          TEXT    NOT NULL,
    priority_reason   TEXT,
    support_level     TEXT    NOT NULL,
    assignee_id       BIGINT  REFERENCES users (id),
    status            TEXT    NOT NULL,
    -- The structured form (intervention, os_reinstall, hardware_change) exactly as filed.
    form              TEXT,
    -- The dedup key of the alert that opened it.
    alert_key         TEXT,
    vendor            TEXT,
    vendor_case       TEXT,
    rma               TEXT,
    vendor_follow_up  BIGINT,
    -- Secret part of the reply address and of signed links in the ticket's e-mails.
    reply_token       TEXT    NOT NULL UNIQUE,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    resolved_at       BIGINT,
    closed_at         BIGINT,
    rating            BIGINT,
    rating_comment    TEXT,
    -- The earliest SLA deadline still running: queues sort by it (NULL: none running).
    sla_due_at        BIGINT
);
CREATE INDEX tickets_client_status ON tickets (client_id, status);
CREATE INDEX tickets_queue ON tickets (support_level, status, sla_due_at);
-- One open ticket per alert: a firing alert adds to it rather than opening another.
CREATE UNIQUE INDEX tickets_open_alert ON tickets (alert_key) WHERE closed_at IS NULL;

CREATE TABLE ticket_hosts (
    ticket_id  BIGINT  NOT NULL REFERENCES tickets (id),
    host_id    BIGINT  NOT NULL REFERENCES hosts (id),
    PRIMARY KEY (ticket_id, host_id)
);
CREATE INDEX ticket_hosts_host ON ticket_hosts (host_id);

-- The ticket's history, append-only: status and priority changes (the SLA clocks are derived
-- from them), replies, internal notes, escalations, assignments, time entries, links.
CREATE TABLE ticket_events (
    id          INTEGER PRIMARY KEY,
    ticket_id   BIGINT  NOT NULL REFERENCES tickets (id),
    at          BIGINT  NOT NULL,
    actor_id    BIGINT  REFERENCES users (id),
    kind        TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    public      BIGINT  NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (ticket_id, id);

-- SLA warnings and breaches already acted on: each once per ticket, clock and level.
CREATE TABLE sla_alarms (
    ticket_id  BIGINT  NOT NULL REFERENCES tickets (id),
    clock      TEXT    NOT NULL,
    level      TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    PRIMARY KEY (ticket_id, clock, level)
);

-- Ticket e-mail outbox.
CREATE TABLE ticket_mail (
    id               INTEGER PRIMARY KEY,
    ticket_id        BIGINT  NOT NULL REFERENCES tickets (id),
    to_email         TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    sent_at          BIGINT,
    last_error       TEXT
);
CREATE INDEX ticket_mail_due ON ticket_mail (status, next_attempt_at);

-- Access credentials, encrypted with a key kept outside the database.
CREATE TABLE vault_credentials (
    id          INTEGER PRIMARY KEY,
    client_id   BIGINT  NOT NULL REFERENCES clients (id),
    host_id     BIGINT  NOT NULL REFERENCES hosts (id),
    -- The ticket it was given for: purged when that ticket closes, unless the contract keeps it.
    ticket_id   BIGINT  REFERENCES tickets (id),
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    username    TEXT    NOT NULL,
    -- nonce and ciphertext, base64; the host and name are bound in as associated data.
    sealed      TEXT    NOT NULL,
    created_by  BIGINT  REFERENCES users (id),
    created_at  BIGINT  NOT NULL,
    purged_at   BIGINT
);
CREATE INDEX vault_credentials_host ON vault_credentials (host_id);

-- Everything done to or about a customer's machine, allowed or refused.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          BIGINT  NOT NULL,
    actor_id    BIGINT  REFERENCES users (id),
    client_id   BIGINT  REFERENCES clients (id),
    host_id     BIGINT  REFERENCES hosts (id),
    ticket_id   BIGINT  REFERENCES tickets (id),
    action      TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    detail      TEXT    NOT NULL
);
CREATE INDEX audit_log_client ON audit_log (client_id, id);

-- Typed jobs for agents (reboot, shutdown, …), each authorized before it is queued.
CREATE TABLE jobs (
    id            INTEGER PRIMARY KEY,
    client_id     BIGINT  NOT NULL REFERENCES clients (id),
    host_id       BIGINT  NOT NULL REFERENCES hosts (id),
    ticket_id     BIGINT  REFERENCES tickets (id),
    kind          TEXT    NOT NULL,
    params        TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    requested_by  BIGINT  REFERENCES users (id),
    created_at    BIGINT  NOT NULL,
    claimed_at    BIGINT,
    finished_at   BIGINT,
    result        TEXT
);
CREATE INDEX jobs_host_status ON jobs (host_id, status);
