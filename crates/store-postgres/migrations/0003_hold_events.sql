-- The history of legal holds: each set and lift, with its reason (sealed) and who.
CREATE TABLE legal_hold_events (
    id         uuid PRIMARY KEY,
    subject_id uuid NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    action     text NOT NULL CHECK (action IN ('set', 'lift')),
    reason     bytea NOT NULL,              -- sealed
    at         timestamptz NOT NULL,
    actor      text NOT NULL
);
CREATE INDEX legal_hold_events_subject ON legal_hold_events (subject_id, at);
