-- The blind index of a subject's name (first name and last name, normalised: see
-- `vigie_domain::model::name_key`), keyed under its own domain: names are searchable without
-- being stored in clear. A subject has at most one; it goes with the subject (erasure, merge).
CREATE TABLE subject_names (
    subject_id uuid PRIMARY KEY REFERENCES subjects (id) ON DELETE CASCADE,
    name_bi    bytea NOT NULL
);
CREATE INDEX subject_names_bi ON subject_names (name_bi);
