-- A subject's revision: bumped by every write to the subject's row or to a row its read decisions
-- depend on (contracts, consents, objections, restrictions; interactions too, so that a view built
-- on a snapshot is the one recorded). A purpose-checked read is decided and built on a reader's
-- snapshot; the writer records it only if the subject's revision is still the one the snapshot
-- read, else it decides again. Triggers keep the revision by construction, whatever statement writes.
ALTER TABLE subjects ADD COLUMN rev bigint NOT NULL DEFAULT 0;

CREATE FUNCTION vigie_subject_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.rev := OLD.rev + 1;
    RETURN NEW;
END $$;
CREATE TRIGGER subjects_rev BEFORE UPDATE ON subjects FOR EACH ROW EXECUTE FUNCTION vigie_subject_rev();

CREATE FUNCTION vigie_subject_child_rev() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE subjects SET rev = rev + 1 WHERE id = OLD.subject_id;
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.subject_id IS DISTINCT FROM OLD.subject_id) THEN
        UPDATE subjects SET rev = rev + 1 WHERE id = NEW.subject_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER contracts_rev AFTER INSERT OR UPDATE OR DELETE ON contracts
    FOR EACH ROW EXECUTE FUNCTION vigie_subject_child_rev();
CREATE TRIGGER consents_rev AFTER INSERT OR UPDATE OR DELETE ON consents
    FOR EACH ROW EXECUTE FUNCTION vigie_subject_child_rev();
CREATE TRIGGER objections_rev AFTER INSERT OR UPDATE OR DELETE ON objections
    FOR EACH ROW EXECUTE FUNCTION vigie_subject_child_rev();
CREATE TRIGGER restrictions_rev AFTER INSERT OR UPDATE OR DELETE ON restrictions
    FOR EACH ROW EXECUTE FUNCTION vigie_subject_child_rev();
CREATE TRIGGER interactions_rev AFTER INSERT OR UPDATE OR DELETE ON interactions
    FOR EACH ROW EXECUTE FUNCTION vigie_subject_child_rev();
