-- Retention clocks, legal holds, erasure tombstones, background jobs.

-- Each subject's clock, maintained on every write that changes it, so that
-- planning reads an index instead of recomputing every subject.
ALTER TABLE subjects ADD COLUMN retention_rule TEXT NOT NULL DEFAULT 'last_inbound_contact';
ALTER TABLE subjects ADD COLUMN basis_date TEXT;
ALTER TABLE subjects ADD COLUMN expires_on TEXT;           -- last day the data may be kept; NULL while a contract is open
ALTER TABLE subjects ADD COLUMN legal_hold BLOB;           -- sealed reason; NULL when not held
ALTER TABLE subjects ADD COLUMN held_at TEXT;
CREATE INDEX subjects_expires_on ON subjects (expires_on) WHERE expires_on IS NOT NULL;

-- What remains of an erased subject: its id, when, under which rule. Nothing personal.
CREATE TABLE erasures (
    subject_id BLOB PRIMARY KEY,
    erased_at  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    rule       TEXT NOT NULL
) WITHOUT ROWID;

-- Aggregate counts of erasures, for statistics and the register.
CREATE TABLE erased_counts (
    month TEXT NOT NULL,                                  -- YYYY-MM of the erasure
    kind  TEXT NOT NULL,
    rule  TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (month, kind, rule)
) WITHOUT ROWID;

-- Background jobs: a lease so that one instance runs a job at a time, and the
-- day it last ran so that a daily job runs once a day across instances.
CREATE TABLE jobs (
    name        TEXT PRIMARY KEY,
    lease_until TEXT,
    last_run_on TEXT
);
