-- The breach register (Art. 33(5)): each breach and its dated phases.
-- Free text (description, consequences, measures, reasons) is sealed under a
-- key of the breach's own: it may name people.
CREATE TABLE breaches (
    id                 BLOB PRIMARY KEY,
    detected_at        TEXT NOT NULL,
    nature             TEXT NOT NULL,          -- confidentiality, integrity, availability (comma-separated)
    data_categories    TEXT NOT NULL,          -- comma-separated
    scope              TEXT NOT NULL,          -- JSON of ids, kinds, dates, a recipient or a token: nothing personal
    risk               TEXT NOT NULL CHECK (risk IN ('none', 'risk', 'high')),
    status             TEXT NOT NULL CHECK (status IN ('open', 'notified', 'closed')),
    keys_compromised   INTEGER NOT NULL CHECK (keys_compromised IN (0, 1)),
    subjects_concerned INTEGER NOT NULL,
    records_concerned  INTEGER NOT NULL,
    details            BLOB NOT NULL,          -- sealed: description, consequences, measures
    wrapped_key        BLOB NOT NULL,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE breach_phases (
    id        BLOB PRIMARY KEY,
    breach_id BLOB NOT NULL REFERENCES breaches (id) ON DELETE CASCADE,
    at        TEXT NOT NULL,
    phase     TEXT NOT NULL,                   -- initial, update, authority_notified, subjects_notified, closed
    details   BLOB NOT NULL,                   -- sealed
    actor     TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX breach_phases_breach ON breach_phases (breach_id, at);

-- Who read or wrote what, by actor and time: breach scopes by token search it.
CREATE INDEX audit_actor ON audit (actor, at);
