-- Rights requests (GDPR Art. 15 to 21), identity documents, and the suppression list.

-- A request is sealed under a key of its own: the requester's details and the
-- response hold personal data, and a request may match no subject.
CREATE TABLE requests (
    id                uuid PRIMARY KEY,
    kind              text NOT NULL CHECK (kind IN ('access', 'rectification', 'erasure', 'portability', 'objection')),
    channel           text NOT NULL CHECK (channel IN ('letter', 'email', 'web_form')),
    received_on       date NOT NULL,
    due_on            date NOT NULL,
    extended_due_on   date,
    status            text NOT NULL CHECK (status IN ('awaiting_identity', 'in_progress', 'completed', 'refused')),
    subject_id        uuid,                    -- the matching subject, if any (no foreign key: it may be erased)
    requester_bi      bytea,                   -- blind index of the requester's email
    requester         bytea NOT NULL,          -- sealed: the requester's details and the request's particulars
    identity_document text,                    -- the kind of document checked
    identity_decision text CHECK (identity_decision IN ('verified', 'rejected')),
    identity_at       timestamptz,
    extension_reason  bytea,                   -- sealed
    outcome           text,                    -- a short non-personal outcome or refusal ground
    response          bytea,                   -- sealed response package
    wrapped_key       bytea NOT NULL,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    completed_at      timestamptz
);
CREATE INDEX requests_due ON requests (status, due_on);
CREATE INDEX requests_subject ON requests (subject_id);

-- An uploaded identity document, sealed; deleted as soon as the decision is recorded.
CREATE TABLE identity_documents (
    request_id   uuid PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    content      bytea NOT NULL,
    content_type text NOT NULL,
    uploaded_at  timestamptz NOT NULL
);

-- People who must not be recorded or contacted again: the keyed hash of their email only.
CREATE TABLE suppression (
    email_bi bytea PRIMARY KEY,
    added_at timestamptz NOT NULL,
    reason   text NOT NULL
);
