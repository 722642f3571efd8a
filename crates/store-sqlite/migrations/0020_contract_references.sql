-- The blind index of a contract reference (trimmed, case-folded, spaces removed: see
-- `vigie_domain::model::contract_reference_key`), keyed under its own domain: a rights request
-- finds the subject by a contract reference without the reference being stored in clear.
-- It lives on the contract row: it moves with the contract at a merge and goes with it at erasure.
ALTER TABLE contracts ADD COLUMN reference_bi BLOB;
CREATE INDEX contracts_reference_bi ON contracts (reference_bi);
