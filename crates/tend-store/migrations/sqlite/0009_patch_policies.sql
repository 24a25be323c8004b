-- tend schema 9: patch policies per client, site or host; what changed, told to the customer
-- after each ring of a rollout; the ticket asking for reboots.

-- A patch policy (tend_core::patching::PatchPolicy as JSON). The client's applies to all its
-- hosts; a site's or a host's replaces it as a whole for them. `target` is `client`,
-- `site:<id>` or `host:<id>`, so that one object has one policy (NULLs never clash in UNIQUE).
CREATE TABLE patch_policies (
    id          INTEGER PRIMARY KEY,
    client_id   BIGINT  NOT NULL REFERENCES clients (id),
    site_id     BIGINT  REFERENCES sites (id),
    host_id     BIGINT  REFERENCES hosts (id),
    target      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    updated_by  BIGINT  REFERENCES users (id),
    updated_at  BIGINT  NOT NULL,
    UNIQUE (client_id, target)
);

-- One summary per ring of a rollout and contact, written when the ring is patched: the row is
-- the outbox entry and the proof the customer was told what changed on which host.
CREATE TABLE patch_summaries (
    id               INTEGER PRIMARY KEY,
    rollout_id       BIGINT  NOT NULL REFERENCES rollouts (id),
    ring             TEXT    NOT NULL,
    contact_id       BIGINT  NOT NULL REFERENCES client_contacts (id),
    subject          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    sent_at          BIGINT,
    last_error       TEXT,
    UNIQUE (rollout_id, ring, contact_id)
);
CREATE INDEX patch_summaries_due ON patch_summaries (status, next_attempt_at);

-- The ticket that asks the customer to authorize the reboots a rollout's hosts need, when the
-- policy says to ask.
ALTER TABLE rollouts ADD COLUMN reboot_ticket_id BIGINT REFERENCES tickets (id);
