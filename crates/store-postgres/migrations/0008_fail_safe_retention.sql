-- Retention fails safe (SPEC 4.3): a contract ending 9999-12-31 means "no end",
-- no clock runs past 9999-12-31, and a client without any contract has no clock
-- (listed for review, never erased).
UPDATE subjects SET basis_date = NULL, expires_on = NULL
 WHERE expires_on > DATE '9999-12-31' OR basis_date >= DATE '9999-12-31';
UPDATE subjects SET retention_rule = 'client_without_contract', basis_date = NULL, expires_on = NULL
 WHERE kind = 'client' AND NOT EXISTS (SELECT 1 FROM contracts c WHERE c.subject_id = subjects.id);
CREATE INDEX subjects_to_review ON subjects (collected_at) WHERE retention_rule = 'client_without_contract';
