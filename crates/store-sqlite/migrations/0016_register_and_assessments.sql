-- The register cites the document of a safeguard (e.g. the signed clauses' reference and module).
ALTER TABLE safeguards ADD COLUMN reference TEXT;
