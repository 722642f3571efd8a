-- Vigie schema, SQLite dialect. Personal values are stored only sealed
-- (BLOB columns named after what they hold) or as keyed blind indexes.

CREATE TABLE subjects (
    id           BLOB PRIMARY KEY,          -- UUIDv7
    kind         TEXT NOT NULL CHECK (kind IN ('client', 'prospect')),
    collected_at TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    email_bi     BLOB,                      -- HMAC of the normalised email
    phone_bi     BLOB,                      -- HMAC of the normalised phone
    identity     BLOB NOT NULL              -- sealed identity fields
) WITHOUT ROWID;
CREATE INDEX subjects_email_bi ON subjects (email_bi) WHERE email_bi IS NOT NULL;
CREATE INDEX subjects_phone_bi ON subjects (phone_bi) WHERE phone_bi IS NOT NULL;

-- One key per subject, wrapped by the master key. Deleting the row shreds the subject.
CREATE TABLE subject_keys (
    subject_id BLOB PRIMARY KEY REFERENCES subjects (id) ON DELETE CASCADE,
    wrapped    BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE contracts (
    id         BLOB PRIMARY KEY,
    subject_id BLOB NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    reference  BLOB NOT NULL,               -- sealed
    start_date TEXT NOT NULL,
    end_date   TEXT,
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX contracts_subject ON contracts (subject_id);

CREATE TABLE interactions (
    id         BLOB PRIMARY KEY,
    subject_id BLOB NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    direction  TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    channel    TEXT NOT NULL,
    summary    BLOB,                        -- sealed
    created_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX interactions_subject ON interactions (subject_id, at);

CREATE TABLE consents (
    id         BLOB PRIMARY KEY,
    subject_id BLOB NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    granted    INTEGER NOT NULL CHECK (granted IN (0, 1)),
    at         TEXT NOT NULL,
    evidence   BLOB NOT NULL                -- sealed
) WITHOUT ROWID;
CREATE INDEX consents_subject ON consents (subject_id, purpose, at);

CREATE TABLE objections (
    id         BLOB PRIMARY KEY,
    subject_id BLOB NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    at         TEXT NOT NULL,
    UNIQUE (subject_id, purpose)
) WITHOUT ROWID;

CREATE TABLE tokens (
    id         BLOB PRIMARY KEY,
    hash       BLOB NOT NULL UNIQUE,        -- SHA-256 of the token
    role       TEXT NOT NULL CHECK (role IN ('admin', 'dpo', 'staff', 'recipient', 'auditor')),
    recipient  TEXT,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) WITHOUT ROWID;

-- The audit trail: ids and field names only. subject_id has no foreign key:
-- the entry that a subject was erased outlives the subject.
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject_id BLOB,
    purpose    TEXT,
    fields     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT,
    hash       BLOB NOT NULL
);
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));

CREATE TABLE disclosures (
    id         BLOB PRIMARY KEY,
    at         TEXT NOT NULL,
    recipient  TEXT NOT NULL,
    subject_id BLOB NOT NULL,
    fields     TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    token_id   BLOB
) WITHOUT ROWID;
CREATE INDEX disclosures_subject ON disclosures (subject_id);
CREATE INDEX disclosures_recipient ON disclosures (recipient, at);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
