-- Restriction of processing (GDPR Art. 18): a restricted subject's data is stored only, and read
-- only for legal claims. One row per subject: the ground (a closed set, nothing personal), the
-- request that asked for it, and once lifted, when and why (the reason sealed under the subject key).
CREATE TABLE restrictions (
    subject_id    uuid PRIMARY KEY REFERENCES subjects (id) ON DELETE CASCADE,
    ground        text NOT NULL CHECK (ground IN ('accuracy_contested', 'unlawful_processing', 'no_longer_needed_but_claims', 'objection_pending')),
    request_id    uuid,
    restricted_at timestamptz NOT NULL,
    lifted_at     timestamptz,
    lift_reason   bytea
);

-- Requests of kind `restriction`.
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check CHECK (kind IN ('access', 'rectification', 'erasure', 'portability', 'objection', 'restriction'));
