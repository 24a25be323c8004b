-- tend schema 8: rings and patch rollouts through them (test before production).

-- The ring a host belongs to (e.g. `test`, `production`); a host without a row is in none and
-- is left out of rollouts.
CREATE TABLE host_rings (
    host_id  BIGINT  PRIMARY KEY REFERENCES hosts (id),
    ring     TEXT    NOT NULL
);

-- One patch set on its way through a client's rings. `state` is the domain's Rollout
-- (tend_core::patching::rollout) as JSON; `status` (running, halted, done) is kept beside it
-- so the timer finds running rollouts without reading every state.
CREATE TABLE rollouts (
    id           INTEGER PRIMARY KEY,
    client_id    BIGINT  NOT NULL REFERENCES clients (id),
    name         TEXT    NOT NULL,
    -- `regular` or `emergency`.
    urgency      TEXT    NOT NULL,
    -- JSON array of package names (or name=version) to apply.
    packages     TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    status       TEXT    NOT NULL,
    halt_reason  TEXT,
    -- The ticket opened when it halted.
    ticket_id    BIGINT  REFERENCES tickets (id),
    created_by   BIGINT  REFERENCES users (id),
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
CREATE INDEX rollouts_client ON rollouts (client_id, id);
CREATE INDEX rollouts_status ON rollouts (status);

-- The apply jobs a rollout queued; `recorded` (0/1) once the job's outcome is in the state.
CREATE TABLE rollout_jobs (
    job_id      BIGINT  PRIMARY KEY REFERENCES jobs (id),
    rollout_id  BIGINT  NOT NULL REFERENCES rollouts (id),
    host_id     BIGINT  NOT NULL REFERENCES hosts (id),
    recorded    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX rollout_jobs_rollout ON rollout_jobs (rollout_id);
