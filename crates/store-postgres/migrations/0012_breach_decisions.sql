-- Whether a breach's keys were compromised is yes, no or unknown (Art. 34(3)(a)
-- needs a known "no"). A former `false` was the default, not a finding: it
-- becomes `unknown`, which never allows the encryption exemption.
ALTER TABLE breaches ALTER COLUMN keys_compromised TYPE text
    USING CASE WHEN keys_compromised THEN 'yes' ELSE 'unknown' END;
-- The same default as SQLite's added column (Vigie always sets it; the safe value).
ALTER TABLE breaches ALTER COLUMN keys_compromised SET DEFAULT 'unknown';
ALTER TABLE breaches ADD CONSTRAINT breaches_keys_compromised_check
    CHECK (keys_compromised IN ('yes', 'no', 'unknown'));
-- The subjects concerned by kind, for the categories of data subjects of the
-- notification to the authority (Art. 33(3)(a)); counted when the breach is recorded.
ALTER TABLE breaches ADD COLUMN clients_concerned bigint NOT NULL DEFAULT 0;
ALTER TABLE breaches ADD COLUMN prospects_concerned bigint NOT NULL DEFAULT 0;
