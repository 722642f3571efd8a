-- Whether a breach's keys were compromised is yes, no or unknown (Art. 34(3)(a)
-- needs a known "no"). A former `false` was the default, not a finding: it
-- becomes `unknown`, which never allows the encryption exemption.
ALTER TABLE breaches ADD COLUMN keys_state TEXT NOT NULL DEFAULT 'unknown' CHECK (keys_state IN ('yes', 'no', 'unknown'));
UPDATE breaches SET keys_state = CASE WHEN keys_compromised = 1 THEN 'yes' ELSE 'unknown' END;
ALTER TABLE breaches DROP COLUMN keys_compromised;
ALTER TABLE breaches RENAME COLUMN keys_state TO keys_compromised;
-- The subjects concerned by kind, for the categories of data subjects of the
-- notification to the authority (Art. 33(3)(a)); counted when the breach is recorded.
ALTER TABLE breaches ADD COLUMN clients_concerned INTEGER NOT NULL DEFAULT 0;
ALTER TABLE breaches ADD COLUMN prospects_concerned INTEGER NOT NULL DEFAULT 0;
