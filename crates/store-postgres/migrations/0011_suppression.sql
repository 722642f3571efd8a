-- The suppression list covers prospecting only, is keyed by the blind index of an email or of a
-- phone (the key of the blind index is per field, so the two never collide), and each entry has an
-- end: the policy's `retention.suppression_years` after the objection (existing entries: 3 years).
ALTER TABLE suppression RENAME COLUMN email_bi TO bi;
ALTER TABLE suppression ADD COLUMN expires_on date;
UPDATE suppression SET expires_on = (added_at AT TIME ZONE 'UTC' + interval '3 years')::date;
ALTER TABLE suppression ALTER COLUMN expires_on SET NOT NULL;
CREATE INDEX suppression_expiry ON suppression (expires_on);
