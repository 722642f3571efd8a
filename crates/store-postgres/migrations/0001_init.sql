-- Vigie schema, PostgreSQL dialect. The same tables, columns, constraints and
-- indexes as the SQLite schema (crates/store-sqlite/migrations/0001_init.sql),
-- with native types. Personal values are stored only sealed (bytea columns
-- named after what they hold) or as keyed blind indexes.

CREATE TABLE subjects (
    id           uuid PRIMARY KEY,          -- UUIDv7
    kind         text NOT NULL CHECK (kind IN ('client', 'prospect')),
    collected_at timestamptz NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    email_bi     bytea,                     -- HMAC of the normalised email
    phone_bi     bytea,                     -- HMAC of the normalised phone
    identity     bytea NOT NULL             -- sealed identity fields
);
CREATE INDEX subjects_email_bi ON subjects (email_bi) WHERE email_bi IS NOT NULL;
CREATE INDEX subjects_phone_bi ON subjects (phone_bi) WHERE phone_bi IS NOT NULL;

-- One key per subject, wrapped by the master key. Deleting the row shreds the subject.
CREATE TABLE subject_keys (
    subject_id uuid PRIMARY KEY REFERENCES subjects (id) ON DELETE CASCADE,
    wrapped    bytea NOT NULL
);

CREATE TABLE contracts (
    id         uuid PRIMARY KEY,
    subject_id uuid NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    reference  bytea NOT NULL,              -- sealed
    start_date date NOT NULL,
    end_date   date,
    created_at timestamptz NOT NULL
);
CREATE INDEX contracts_subject ON contracts (subject_id);

CREATE TABLE interactions (
    id         uuid PRIMARY KEY,
    subject_id uuid NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL,
    direction  text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    channel    text NOT NULL,
    summary    bytea,                       -- sealed
    created_at timestamptz NOT NULL
);
CREATE INDEX interactions_subject ON interactions (subject_id, at);

CREATE TABLE consents (
    id         uuid PRIMARY KEY,
    subject_id uuid NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    purpose    text NOT NULL,
    granted    boolean NOT NULL,
    at         timestamptz NOT NULL,
    evidence   bytea NOT NULL               -- sealed
);
CREATE INDEX consents_subject ON consents (subject_id, purpose, at);

CREATE TABLE objections (
    id         uuid PRIMARY KEY,
    subject_id uuid NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    purpose    text NOT NULL,
    at         timestamptz NOT NULL,
    UNIQUE (subject_id, purpose)
);

CREATE TABLE tokens (
    id         uuid PRIMARY KEY,
    hash       bytea NOT NULL UNIQUE,       -- SHA-256 of the token
    role       text NOT NULL CHECK (role IN ('admin', 'dpo', 'staff', 'recipient', 'auditor')),
    recipient  text,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

-- The audit trail: ids and field names only. subject_id has no foreign key:
-- the entry that a subject was erased outlives the subject.
CREATE TABLE audit (
    seq        bigint PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    action     text NOT NULL,
    subject_id uuid,
    purpose    text,
    fields     text NOT NULL,
    outcome    text NOT NULL,
    detail     text,
    hash       bytea NOT NULL
);
-- One row; writers lock it (SELECT ... FOR UPDATE) to extend the chain one at a time.
CREATE TABLE audit_head (
    id   integer PRIMARY KEY CHECK (id = 1),
    seq  bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE disclosures (
    id         uuid PRIMARY KEY,
    at         timestamptz NOT NULL,
    recipient  text NOT NULL,
    subject_id uuid NOT NULL,
    fields     text NOT NULL,
    purpose    text NOT NULL,
    token_id   uuid
);
CREATE INDEX disclosures_subject ON disclosures (subject_id);
CREATE INDEX disclosures_recipient ON disclosures (recipient, at);

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
