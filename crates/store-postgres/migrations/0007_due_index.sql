-- Planning reads only these indexes: the subjects not held by expiry date
-- (count, listing, monthly forecast; `legal_hold` is in the key so that the
-- counts are answered from the index alone), and the held ones apart.
DROP INDEX subjects_expires_on;
CREATE INDEX subjects_due ON subjects (expires_on, legal_hold) WHERE expires_on IS NOT NULL AND legal_hold IS NULL;
CREATE INDEX subjects_held ON subjects (expires_on) WHERE legal_hold IS NOT NULL;
