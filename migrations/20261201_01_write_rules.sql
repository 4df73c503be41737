-- Rules every write must follow, held by the database so that no write path can forget them.
--
-- 1. The community revision moves whenever something the suggestion index is built from changes
--    (members, ties, blocks, group seats, a suggestion's outcome), once per transaction however
--    many rows or statements it touched, and never for a write that changed no row.
-- 2. Erasing a member removes everything that names them: foreign keys cascade to ties, blocks,
--    suggestions and group seats; placement proposals and job results (JSON documents that may
--    name the member anywhere) are deleted by the trigger below.

ALTER TABLE communities ADD COLUMN revised_in xid8;

-- Statement-level triggers with a transition table named changed_rows: one UPDATE per statement
-- whatever its row count (COPY of a million ties included), skipped when the statement changed
-- nothing and when this transaction already moved the community's revision.
CREATE FUNCTION bump_community_revision() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE communities
       SET revision = revision + 1, revised_in = pg_current_xact_id()
     WHERE community_id IN (SELECT DISTINCT community_id FROM changed_rows)
       AND revised_in IS DISTINCT FROM pg_current_xact_id();
    RETURN NULL;
END
$$;

DO $$
DECLARE
    revised_table text;
BEGIN
    FOREACH revised_table IN ARRAY ARRAY['members', 'connections', 'blocks', 'group_memberships'] LOOP
        EXECUTE format('CREATE TRIGGER %1$s_inserted_revise AFTER INSERT ON %1$I'
                       ' REFERENCING NEW TABLE AS changed_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION bump_community_revision()', revised_table);
        EXECUTE format('CREATE TRIGGER %1$s_updated_revise AFTER UPDATE ON %1$I'
                       ' REFERENCING NEW TABLE AS changed_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION bump_community_revision()', revised_table);
        EXECUTE format('CREATE TRIGGER %1$s_deleted_revise AFTER DELETE ON %1$I'
                       ' REFERENCING OLD TABLE AS changed_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION bump_community_revision()', revised_table);
    END LOOP;
END
$$;

-- Suggestions are inserted on every read (they record exposures), so only a change of outcome
-- (a decline the index must learn) moves the revision; an accept also writes a tie.
CREATE FUNCTION bump_community_revision_for_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE communities
       SET revision = revision + 1, revised_in = pg_current_xact_id()
     WHERE community_id = NEW.community_id
       AND revised_in IS DISTINCT FROM pg_current_xact_id();
    RETURN NULL;
END
$$;

CREATE TRIGGER suggestions_outcome_revise AFTER UPDATE OF outcome ON suggestions
    FOR EACH ROW WHEN (OLD.outcome IS DISTINCT FROM NEW.outcome)
    EXECUTE FUNCTION bump_community_revision_for_row();

CREATE FUNCTION erase_documents_naming_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM placements p
     USING erased e
     WHERE p.community_id = e.community_id
       AND jsonb_path_exists(p.result, '$.** ? (@ == $m)', jsonb_build_object('m', e.member_id));
    DELETE FROM jobs j
     USING erased e
     WHERE j.community_id = e.community_id
       AND (jsonb_path_exists(coalesce(j.result, 'null'), '$.** ? (@ == $m)', jsonb_build_object('m', e.member_id))
            OR jsonb_path_exists(coalesce(j.params, 'null'), '$.** ? (@ == $m)', jsonb_build_object('m', e.member_id)));
    RETURN NULL;
END
$$;

CREATE TRIGGER members_erased_documents AFTER DELETE ON members
    REFERENCING OLD TABLE AS erased
    FOR EACH STATEMENT EXECUTE FUNCTION erase_documents_naming_members();
