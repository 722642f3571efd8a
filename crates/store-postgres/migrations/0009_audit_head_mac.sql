-- The audit head carries a MAC over (seq, hash) under a key derived for it alone:
-- pointing the head at an earlier entry after cutting the tail off no longer verifies.
-- NULL until the first start after this migration seals the current head.
ALTER TABLE audit_head ADD COLUMN mac BYTEA;
CREATE INDEX erasures_at ON erasures (erased_at);
