-- Answers to people (issue 12, point 5): each request records the language its requester is
-- answered in (`lang`, French unless asked otherwise), and a request may withdraw a consent
-- (`consent_withdrawal`). SQLite cannot alter a CHECK, so `requests` is rebuilt, and its child
-- (identity documents, identity confirmation links) with them, so that dropping the old table
-- cascades to nothing.
-- NOTE for later migrations: a rebuild lists every column; one added to `requests` before this
-- migration must be listed here too.
CREATE TABLE identity_documents_copy AS SELECT * FROM identity_documents;
DROP TABLE identity_documents;
CREATE TABLE identity_confirmations_copy AS SELECT * FROM identity_confirmations;
DROP TABLE identity_confirmations;
CREATE TABLE requests_copy AS SELECT * FROM requests;
DROP TABLE requests;
CREATE TABLE requests (
    id                BLOB PRIMARY KEY,
    kind              TEXT NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure', 'portability', 'objection', 'restriction', 'consent_withdrawal')),
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
    response          BLOB,                    -- sealed answer (vigie_ui::answers::Answer as JSON)
    wrapped_key       BLOB NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    completed_at      TEXT,
    suspended_since   TEXT,                    -- the clock stands still since (0015)
    suspended_days    INTEGER NOT NULL DEFAULT 0,
    extension_months  INTEGER,
    lang              TEXT NOT NULL DEFAULT 'fr' CHECK (lang IN ('fr', 'en'))  -- the requester's language
) WITHOUT ROWID;
INSERT INTO requests (id, kind, channel, received_on, due_on, extended_due_on, status, subject_id, requester_bi,
                      requester, identity_document, identity_decision, identity_at, extension_reason, outcome,
                      response, wrapped_key, created_at, updated_at, completed_at, suspended_since, suspended_days,
                      extension_months)
    SELECT id, kind, channel, received_on, due_on, extended_due_on, status, subject_id, requester_bi,
           requester, identity_document, identity_decision, identity_at, extension_reason, outcome,
           response, wrapped_key, created_at, updated_at, completed_at, suspended_since, suspended_days,
           extension_months
    FROM requests_copy;
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
CREATE TABLE identity_confirmations (
    request_id BLOB PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    subject_id BLOB NOT NULL,
    token_hash BLOB NOT NULL UNIQUE,
    token      BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO identity_confirmations SELECT * FROM identity_confirmations_copy;
DROP TABLE identity_confirmations_copy;

-- The consultations of a person's data (CJEU C-579/21), listed in the access answer, are the
-- audit trail's reads of that subject: found by subject.
CREATE INDEX audit_subject ON audit (subject_id, seq);
