-- Tokens expire and show when they were last used (to the minute).
ALTER TABLE tokens ADD COLUMN expires_at TEXT;
ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
-- Leases name their holder: a mark or a renewal by anyone else changes nothing.
ALTER TABLE outbox ADD COLUMN lease_owner BLOB;
ALTER TABLE jobs ADD COLUMN lease_owner BLOB;
