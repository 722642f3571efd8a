-- Answers to people (issue 12, point 5): each request records the language its requester is
-- answered in (`lang`, French unless asked otherwise), and a request may withdraw a consent
-- (`consent_withdrawal`).
ALTER TABLE requests ADD COLUMN lang text NOT NULL DEFAULT 'fr';
ALTER TABLE requests ADD CONSTRAINT requests_lang_check CHECK (lang IN ('fr', 'en'));
ALTER TABLE requests DROP CONSTRAINT requests_kind_check;
ALTER TABLE requests ADD CONSTRAINT requests_kind_check
    CHECK (kind IN ('access', 'rectification', 'erasure', 'portability', 'objection', 'restriction', 'consent_withdrawal'));

-- The consultations of a person's data (CJEU C-579/21), listed in the access answer, are the
-- audit trail's reads of that subject: found by subject.
CREATE INDEX audit_subject ON audit (subject_id, seq);
