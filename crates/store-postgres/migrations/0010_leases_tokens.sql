-- Tokens expire and show when they were last used (to the minute).
ALTER TABLE tokens ADD COLUMN expires_at timestamptz;
ALTER TABLE tokens ADD COLUMN last_used_at timestamptz;
-- Leases name their holder: a mark or a renewal by anyone else changes nothing.
ALTER TABLE outbox ADD COLUMN lease_owner uuid;
ALTER TABLE jobs ADD COLUMN lease_owner uuid;
