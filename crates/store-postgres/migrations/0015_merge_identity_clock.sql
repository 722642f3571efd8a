-- Issue 12: merging two records of one person, and a proportionate identity check.

-- The clock of a request stands still while identity information is awaited (EDPB Guidelines
-- 01/2022): since when (NULL when it runs), and the days it stood still before. The months of an
-- extension are kept, so that the deadlines in force are recomputed when the clock runs again.
ALTER TABLE requests ADD COLUMN suspended_since date;
ALTER TABLE requests ADD COLUMN suspended_days bigint NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN extension_months bigint;
-- An extension of 1 month ends about a month after the first deadline, one of 2 about two.
UPDATE requests SET extension_months = CASE WHEN extended_due_on - due_on > 45 THEN 2 ELSE 1 END
 WHERE extended_due_on IS NOT NULL;

-- A one-time link confirming a requester's identity through the email on file of the subject
-- the request is linked to: its SHA-256 hash, and the link's token sealed under the request's
-- key (to render the email when it is sent). One per request: a new link replaces the last.
CREATE TABLE identity_confirmations (
    request_id uuid PRIMARY KEY REFERENCES requests (id) ON DELETE CASCADE,
    subject_id uuid NOT NULL,
    token_hash bytea NOT NULL UNIQUE,
    token      bytea NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- A subject merged into another (the DPO's merge of two records of one person): its tombstone
-- names the record that holds its data now.
ALTER TABLE erasures ADD COLUMN merged_into uuid;
