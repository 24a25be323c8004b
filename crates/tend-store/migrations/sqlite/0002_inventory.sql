-- tend schema 2: what collectors find beyond metrics, and a log of received reports.

-- The latest body of each inventory section of a host (disks, raid, packages, …), as JSON.
CREATE TABLE host_inventory (
    host_id       BIGINT  NOT NULL REFERENCES hosts (id),
    section       TEXT    NOT NULL,
    body          TEXT    NOT NULL,
    collected_at  BIGINT  NOT NULL,
    PRIMARY KEY (host_id, section)
);

-- Every report stored, once: the proof of no loss and no duplicate, and the place to find gaps.
CREATE TABLE agent_reports (
    agent_id      BIGINT  NOT NULL,
    seq           BIGINT  NOT NULL,
    collected_at  BIGINT  NOT NULL,
    received_at   BIGINT  NOT NULL,
    stopping      BIGINT  NOT NULL,
    PRIMARY KEY (agent_id, seq)
) WITHOUT ROWID;
