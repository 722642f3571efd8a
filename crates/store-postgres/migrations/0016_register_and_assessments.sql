-- The register cites the document of a safeguard (e.g. the signed clauses' reference and module).
ALTER TABLE safeguards ADD COLUMN reference text;

-- Art. 6(4): the DPO's assessment of each change a pending policy revision makes to the legal
-- basis of a purpose for a kind of subject (a purpose added, a basis changed). The revision takes
-- effect only once each change is assessed compatible. The reasoning is the DPO's, not personal data.
CREATE TABLE policy_assessments (
    version     text NOT NULL REFERENCES policy_versions (version),
    purpose     text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('client', 'prospect')),
    from_basis  text CHECK (from_basis IN ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interest')),
    to_basis    text NOT NULL CHECK (to_basis IN ('consent', 'contract', 'legal_obligation', 'vital_interests', 'public_task', 'legitimate_interest')),
    compatible  boolean NOT NULL,
    reasoning   text NOT NULL,
    assessed_at timestamptz NOT NULL,
    PRIMARY KEY (version, purpose, kind)
);
