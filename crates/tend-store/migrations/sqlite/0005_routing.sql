-- tend schema 5: routing by site and support level, escalation, client contacts and the notices
-- they get before planned maintenance.

-- A channel may take only one site's notifications, and belong to one support level: the
-- first notification goes to channels of no level or L1, escalation to the next level's (L1, L2, L3).
ALTER TABLE notification_channels ADD COLUMN site_id BIGINT REFERENCES sites (id);
ALTER TABLE notification_channels ADD COLUMN support_level TEXT;

-- The support level the alert has been escalated to (NULL: not escalated).
ALTER TABLE alerts ADD COLUMN escalated_to TEXT;

-- Days before a planned window its client's contacts are told (NULL: the server's default).
ALTER TABLE maintenance_windows ADD COLUMN notice_days BIGINT;

-- The people of a client the provider talks to.
CREATE TABLE client_contacts (
    id                   INTEGER PRIMARY KEY,
    client_id            BIGINT  NOT NULL REFERENCES clients (id),
    name                 TEXT    NOT NULL,
    email                TEXT    NOT NULL,
    phone                TEXT    NOT NULL DEFAULT '',
    role                 TEXT    NOT NULL DEFAULT '',
    maintenance_notices  BIGINT  NOT NULL DEFAULT 1,
    created_at           BIGINT  NOT NULL
);
CREATE INDEX client_contacts_client ON client_contacts (client_id);

-- One notice per window occurrence and contact: the row is the outbox entry and the proof the
-- customer was told.
CREATE TABLE maintenance_notices (
    id                INTEGER PRIMARY KEY,
    window_id         BIGINT  NOT NULL REFERENCES maintenance_windows (id),
    occurrence_start  BIGINT  NOT NULL,
    contact_id        BIGINT  NOT NULL REFERENCES client_contacts (id),
    status            TEXT    NOT NULL,
    attempts          BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT  NOT NULL,
    lease_until       BIGINT,
    sent_at           BIGINT,
    last_error        TEXT,
    UNIQUE (window_id, occurrence_start, contact_id)
);
CREATE INDEX maintenance_notices_due ON maintenance_notices (status, next_attempt_at);
