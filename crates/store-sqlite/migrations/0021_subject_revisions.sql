-- A subject's revision: bumped by every write to the subject's row or to a row its read decisions
-- depend on (contracts, consents, objections, restrictions; interactions too, so that a view built
-- on a snapshot is the one recorded). A purpose-checked read is decided and built on a reader's
-- snapshot; the writer records it only if the subject's revision is still the one the snapshot
-- read, else it decides again. Triggers keep the revision by construction, whatever statement writes.
ALTER TABLE subjects ADD COLUMN rev INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER subjects_rev AFTER UPDATE ON subjects WHEN NEW.rev = OLD.rev
BEGIN UPDATE subjects SET rev = OLD.rev + 1 WHERE id = NEW.id; END;
CREATE TRIGGER contracts_rev_insert AFTER INSERT ON contracts
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id = NEW.subject_id; END;
CREATE TRIGGER contracts_rev_update AFTER UPDATE ON contracts
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id IN (OLD.subject_id, NEW.subject_id); END;
CREATE TRIGGER contracts_rev_delete AFTER DELETE ON contracts
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id = OLD.subject_id; END;
CREATE TRIGGER consents_rev_insert AFTER INSERT ON consents
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id = NEW.subject_id; END;
CREATE TRIGGER consents_rev_update AFTER UPDATE ON consents
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id IN (OLD.subject_id, NEW.subject_id); END;
CREATE TRIGGER consents_rev_delete AFTER DELETE ON consents
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id = OLD.subject_id; END;
CREATE TRIGGER objections_rev_insert AFTER INSERT ON objections
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id = NEW.subject_id; END;
CREATE TRIGGER objections_rev_update AFTER UPDATE ON objections
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id IN (OLD.subject_id, NEW.subject_id); END;
CREATE TRIGGER objections_rev_delete AFTER DELETE ON objections
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id = OLD.subject_id; END;
CREATE TRIGGER restrictions_rev_insert AFTER INSERT ON restrictions
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id = NEW.subject_id; END;
CREATE TRIGGER restrictions_rev_update AFTER UPDATE ON restrictions
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id IN (OLD.subject_id, NEW.subject_id); END;
CREATE TRIGGER restrictions_rev_delete AFTER DELETE ON restrictions
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id = OLD.subject_id; END;
CREATE TRIGGER interactions_rev_insert AFTER INSERT ON interactions
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id = NEW.subject_id; END;
CREATE TRIGGER interactions_rev_update AFTER UPDATE ON interactions
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id IN (OLD.subject_id, NEW.subject_id); END;
CREATE TRIGGER interactions_rev_delete AFTER DELETE ON interactions
BEGIN UPDATE subjects SET rev = rev + 1 WHERE id = OLD.subject_id; END;
