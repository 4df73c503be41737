-- Which members changed in a community, by revision, so that a suggestion index built at
-- revision R is brought up to date by reading only what changed after R (the overlay in
-- service/shared_indexes.py) instead of rebuilding.
--
-- One row per member whose profile, ties or support-group seats changed, per revision (a
-- transaction moves the revision once, so all its changes share it). The revision is read from
-- the community row after the statement triggers of 20261201_01_write_rules.sql moved it: these
-- triggers are named "<table>_<event>_revise_log", which sorts after "<table>_<event>_revise",
-- and PostgreSQL fires triggers of one event in name order. Revisions commit in order (each
-- transaction holds the community row from its bump to its commit), so a reader that sees
-- revision R sees every change row up to R.
CREATE TABLE community_changes (
    community_id bigint NOT NULL REFERENCES communities ON DELETE CASCADE,
    revision     bigint NOT NULL,
    member_id    text COLLATE "C" NOT NULL,
    changed_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, revision, member_id)
);
CREATE INDEX community_changes_age ON community_changes (community_id, changed_at);

CREATE FUNCTION log_changed_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- TG_ARGV names the member columns of the changed table (ties name two).
    IF TG_NARGS = 2 THEN
        INSERT INTO community_changes (community_id, revision, member_id)
        SELECT DISTINCT t.community_id, c.revision, t.member_id
          FROM (SELECT community_id, member_a AS member_id FROM changed_rows
                UNION SELECT community_id, member_b FROM changed_rows) t
          JOIN communities c ON c.community_id = t.community_id
        ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO community_changes (community_id, revision, member_id)
        SELECT DISTINCT t.community_id, c.revision, t.member_id
          FROM changed_rows t
          JOIN communities c ON c.community_id = t.community_id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    logged text;
    columns text;
BEGIN
    FOREACH logged IN ARRAY ARRAY['members', 'connections', 'group_memberships'] LOOP
        columns := CASE WHEN logged = 'connections' THEN '''member_a'', ''member_b''' ELSE '''member_id''' END;
        EXECUTE format('CREATE TRIGGER %1$s_inserted_revise_log AFTER INSERT ON %1$I'
                       ' REFERENCING NEW TABLE AS changed_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION log_changed_members(%2$s)', logged, columns);
        EXECUTE format('CREATE TRIGGER %1$s_updated_revise_log AFTER UPDATE ON %1$I'
                       ' REFERENCING NEW TABLE AS changed_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION log_changed_members(%2$s)', logged, columns);
        EXECUTE format('CREATE TRIGGER %1$s_deleted_revise_log AFTER DELETE ON %1$I'
                       ' REFERENCING OLD TABLE AS changed_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION log_changed_members(%2$s)', logged, columns);
    END LOOP;
END
$$;
