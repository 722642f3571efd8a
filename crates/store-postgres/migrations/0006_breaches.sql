-- The breach register (Art. 33(5)): each breach and its dated phases.
-- Free text (description, consequences, measures, reasons) is sealed under a
-- key of the breach's own: it may name people.
CREATE TABLE breaches (
    id                 uuid PRIMARY KEY,
    detected_at        timestamptz NOT NULL,
    nature             text NOT NULL,          -- confidentiality, integrity, availability (comma-separated)
    data_categories    text NOT NULL,          -- comma-separated
    scope              text NOT NULL,          -- JSON of ids, kinds, dates, a recipient or a token: nothing personal
    risk               text NOT NULL CHECK (risk IN ('none', 'risk', 'high')),
    status             text NOT NULL CHECK (status IN ('open', 'notified', 'closed')),
    keys_compromised   boolean NOT NULL,
    subjects_concerned bigint NOT NULL,
    records_concerned  bigint NOT NULL,
    details            bytea NOT NULL,         -- sealed: description, consequences, measures
    wrapped_key        bytea NOT NULL,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);

CREATE TABLE breach_phases (
    id        uuid PRIMARY KEY,
    breach_id uuid NOT NULL REFERENCES breaches (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL,
    phase     text NOT NULL,                   -- initial, update, authority_notified, subjects_notified, closed
    details   bytea NOT NULL,                  -- sealed
    actor     text NOT NULL
);
CREATE INDEX breach_phases_breach ON breach_phases (breach_id, at);

-- Who read or wrote what, by actor and time: breach scopes by token search it.
CREATE INDEX audit_actor ON audit (actor, at);
