-- Rights requests (GDPR Art. 15 to 21), identity documents, and the suppression list.

-- A request is sealed under a key of its own: the requester's details and the
-- response hold personal data, and a request may match no subject.
CREATE TABLE requests (
    id                BLOB PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure', 'portability', 'objection')),
    channel           TEXT NOT NULL CHECK (channel IN ('letter', 'email', 'web_form')),
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
CREATE INDEX requests_due ON requests (status, due_on);
CREATE INDEX requests_subject ON requests (subject_id);

-- An uploaded identity document, sealed; deleted as soon as the decision is recorded.
CREATE TABLE identity_documents (
    request_id   BLOB PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    content      BLOB NOT NULL,
    content_type TEXT NOT NULL,
    uploaded_at  TEXT NOT NULL
) WITHOUT ROWID;

-- People who must not be recorded or contacted again: the keyed hash of their email only.
CREATE TABLE suppression (
    email_bi BLOB PRIMARY KEY,
    added_at TEXT NOT NULL,
    reason   TEXT NOT NULL
) WITHOUT ROWID;
