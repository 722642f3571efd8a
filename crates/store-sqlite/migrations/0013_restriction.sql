-- Restriction of processing (GDPR Art. 18): a restricted subject's data is stored only, and read
-- only for legal claims. One row per subject: the ground (a closed set, nothing personal), the
-- request that asked for it, and once lifted, when and why (the reason sealed under the subject key).
CREATE TABLE restrictions (
    subject_id    BLOB PRIMARY KEY REFERENCES subjects (id) ON DELETE CASCADE,
    ground        TEXT NOT NULL CHECK (ground IN ('accuracy_contested', 'unlawful_processing', 'no_longer_needed_but_claims', 'objection_pending')),
    request_id    BLOB,
    restricted_at TEXT NOT NULL,
    lifted_at     TEXT,
    lift_reason   BLOB
) WITHOUT ROWID;

-- Requests of kind `restriction`: SQLite cannot alter a CHECK, so the table is rebuilt, and its
-- child (identity documents) with it, so that dropping the old table cascades to nothing.
CREATE TABLE identity_documents_copy AS SELECT * FROM identity_documents;
DROP TABLE identity_documents;
CREATE TABLE requests_copy AS SELECT * FROM requests;
DROP TABLE requests;
CREATE TABLE requests (
    id                BLOB PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure', 'portability', 'objection', 'restriction')),
    channel           TEXT NOT NULL CHECK (channel IN ('letter', 'email', 'web_form', 'phone', 'in_person')),
    received_on       TEXT NOT NULL,
    due_on            TEXT NOT NULL,
    extended_due_on   TEXT,
    status            TEXT NOT NULL CHECK (status IN ('awaiting_identity', 'in_progress', 'completed', 'refused')),
    subject_id        BLOB,                    -- the matching subject, if any (no foreign key: it may be erased)
    requester_bi      BLOB,                    -- blind index of the requester's email
    requester         BLOB NOT NULL,           -- sealed: the requester's details and the request's particulars
    identity_document TEXT,                    -- the kind of document checked
    identity_decision TEXT CHECK (identity_decision IN ('verified', 'rejected')),
    identity_at       TEXT,
    extension_reason  BLOB,                    -- sealed
    outcome           TEXT,                    -- a short non-personal outcome or refusal ground
    response          BLOB,                    -- sealed response package
    wrapped_key       BLOB NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    completed_at      TEXT
) WITHOUT ROWID;
INSERT INTO requests SELECT * FROM requests_copy;
DROP TABLE requests_copy;
CREATE INDEX requests_due ON requests (status, due_on);
CREATE INDEX requests_subject ON requests (subject_id);
CREATE TABLE identity_documents (
    request_id   BLOB PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    content      BLOB NOT NULL,
    content_type TEXT NOT NULL,
    uploaded_at  TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO identity_documents SELECT * FROM identity_documents_copy;
DROP TABLE identity_documents_copy;
