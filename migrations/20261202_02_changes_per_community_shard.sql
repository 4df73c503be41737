-- The change log of 20261202_01_community_changes in the form the revision triggers took in
-- 20261202_01_revisions_per_community_shard: the revision is read from community_revisions (the
-- communities table no longer holds it), one community per statement, so that on a sharded
-- database (Citus) the trigger, firing on a shard, reads and writes that community's co-located
-- shards only. On a single PostgreSQL it logs exactly what it logged before.
CREATE OR REPLACE FUNCTION log_changed_members() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed_community bigint;
    current_revision bigint;
    touched text[];
BEGIN
    FOR changed_community IN SELECT DISTINCT community_id FROM changed_rows LOOP
        SELECT revision INTO current_revision FROM community_revisions WHERE community_id = changed_community;
        IF current_revision IS NULL THEN
            CONTINUE;  -- the community itself is being deleted: nothing is left to bring up to date
        END IF;
        -- TG_ARGV names the member columns of the changed table (ties name two).
        IF TG_NARGS = 2 THEN
            SELECT array_agg(DISTINCT m) INTO touched FROM (
                SELECT member_a AS m FROM changed_rows WHERE community_id = changed_community
                UNION SELECT member_b FROM changed_rows WHERE community_id = changed_community) t;
        ELSE
            SELECT array_agg(DISTINCT member_id) INTO touched FROM changed_rows
             WHERE community_id = changed_community;
        END IF;
        INSERT INTO community_changes (community_id, revision, member_id)
        SELECT changed_community, current_revision, unnest(touched)
        ON CONFLICT DO NOTHING;
    END LOOP;
    RETURN NULL;
END
$$;
