-- Retention fails safe (SPEC 4.3). Dates are stored as `YYYY-MM-DD` with four-digit
-- years only, so that text order is date order: a clock that ran past 9999-12-31
-- (stored as '+10004-12-31', which sorts before '2026') never runs out; a
-- contract ending 9999-12-31 means "no end"; a client without any contract has
-- no clock (listed for review, never erased).
UPDATE subjects SET basis_date = NULL, expires_on = NULL
 WHERE expires_on LIKE '+%' OR basis_date LIKE '+%' OR basis_date >= '9999-12-31';
UPDATE subjects SET retention_rule = 'client_without_contract', basis_date = NULL, expires_on = NULL
 WHERE kind = 'client' AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.subject_id = subjects.id);
CREATE INDEX subjects_to_review ON subjects (collected_at) WHERE retention_rule = 'client_without_contract';
