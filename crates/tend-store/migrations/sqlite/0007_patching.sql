-- tend schema 7: patch management: the advisories tend knows and the mitigations technicians
-- record against flaws that have no fix yet.

-- One advisory (a CVE, a DSA, an OSV record). `body` is the domain's Advisory
-- (tend_core::patching) as JSON, with when tend first learned of it and of each entry: the
-- server keeps those across refreshes, the store only keeps the text.
CREATE TABLE advisories (
    id          TEXT    PRIMARY KEY,
    -- Where it came from: `osv` or `debian_tracker`.
    source      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    learned_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

-- What was done instead of a fix, for one host (host_id) or every host of the client (NULL).
CREATE TABLE mitigations (
    id           INTEGER PRIMARY KEY,
    client_id    BIGINT  NOT NULL REFERENCES clients (id),
    host_id      BIGINT  REFERENCES hosts (id),
    -- The advisory's id or any of its aliases; not a foreign key: a mitigation may name an
    -- alias, and outlives a withdrawn advisory.
    advisory_id  TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    description  TEXT    NOT NULL,
    owner        TEXT    NOT NULL,
    review_at    BIGINT  NOT NULL,
    created_by   BIGINT  REFERENCES users (id),
    created_at   BIGINT  NOT NULL
);
CREATE INDEX mitigations_client ON mitigations (client_id, advisory_id);
