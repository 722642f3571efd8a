-- Governance: safeguards and transfer activations per recipient, the outbox
-- of notices, and policy versions.

-- Safeguards recorded for recipients outside the EEA.
CREATE TABLE safeguards (
    id          BLOB PRIMARY KEY,
    recipient   TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('scc', 'bcr', 'dpf')),
    signed_on   TEXT NOT NULL,
    recorded_at TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX safeguards_recipient ON safeguards (recipient);

-- When a transfer to a recipient outside the EEA was activated (and its subjects told).
CREATE TABLE transfer_activations (
    recipient    TEXT PRIMARY KEY,
    activated_at TEXT NOT NULL
);

-- Notices to subjects and recipients. A row holds no personal value: the
-- message is rendered when it is sent, from the subject's sealed record.
-- The idempotency key makes queueing the same notice twice a no-op.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    subject_id      BLOB REFERENCES subjects (id) ON DELETE CASCADE,
    recipient       TEXT,
    template        TEXT NOT NULL,
    params          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT,
    last_error      TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_subject ON outbox (subject_id);
CREATE INDEX outbox_template ON outbox (template, params, status);

-- Policy versions: uploaded, notified to every subject, then in force.
CREATE TABLE policy_versions (
    version        TEXT PRIMARY KEY,
    text           TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('pending', 'active', 'superseded')),
    uploaded_at    TEXT NOT NULL,
    activated_at   TEXT
);
