-- The history of legal holds: each set and lift, with its reason (sealed) and who.
CREATE TABLE legal_hold_events (
    id         BLOB PRIMARY KEY,
    subject_id BLOB NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    action     TEXT NOT NULL CHECK (action IN ('set', 'lift')),
    reason     BLOB NOT NULL,               -- sealed
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX legal_hold_events_subject ON legal_hold_events (subject_id, at);
