-- The suppression list covers prospecting only, is keyed by the blind index of an email or of a
-- phone (the key of the blind index is per field, so the two never collide), and each entry has an
-- end: the policy's `retention.suppression_years` after the objection (existing entries: 3 years).
CREATE TABLE suppression_v11 (
    bi         BLOB PRIMARY KEY,
    added_at   TEXT NOT NULL,
    reason     TEXT NOT NULL,
    expires_on TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO suppression_v11 (bi, added_at, reason, expires_on)
    SELECT email_bi, added_at, reason, date(added_at, '+3 years') FROM suppression;
DROP TABLE suppression;
ALTER TABLE suppression_v11 RENAME TO suppression;
CREATE INDEX suppression_expiry ON suppression (expires_on);
