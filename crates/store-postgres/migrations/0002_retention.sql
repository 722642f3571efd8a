-- Retention clocks, legal holds, erasure tombstones, background jobs.
-- PostgreSQL dialect of crates/store-sqlite/migrations/0002_retention.sql:
-- the same tables, columns, defaults and indexes, with native types.

-- Each subject's clock, maintained on every write that changes it, so that
-- planning reads an index instead of recomputing every subject.
ALTER TABLE subjects
    ADD COLUMN retention_rule text NOT NULL DEFAULT 'last_inbound_contact',
    ADD COLUMN basis_date     date,
    ADD COLUMN expires_on     date,         -- last day the data may be kept; NULL while a contract is open
    ADD COLUMN legal_hold     bytea,        -- sealed reason; NULL when not held
    ADD COLUMN held_at        timestamptz;
CREATE INDEX subjects_expires_on ON subjects (expires_on) WHERE expires_on IS NOT NULL;

-- What remains of an erased subject: its id, when, under which rule. Nothing
-- personal. No foreign key: the tombstone outlives the subject.
CREATE TABLE erasures (
    subject_id uuid PRIMARY KEY,
    erased_at  timestamptz NOT NULL,
    kind       text NOT NULL,
    rule       text NOT NULL
);

-- Aggregate counts of erasures, for statistics and the register.
CREATE TABLE erased_counts (
    month text NOT NULL,                    -- YYYY-MM of the erasure (UTC)
    kind  text NOT NULL,
    rule  text NOT NULL,
    count bigint NOT NULL,
    PRIMARY KEY (month, kind, rule)
);

-- Background jobs: a lease so that one instance runs a job at a time, and the
-- day it last ran so that a daily job runs once a day across instances.
CREATE TABLE jobs (
    name        text PRIMARY KEY,
    lease_until timestamptz,
    last_run_on date
);
