-- The change log of 20261202_01_community_changes in the form the revision triggers took in
-- 20261202_01_revisions_per_community_shard: the revision is read from community_revisions (the
-- communities table no longer holds it), one community per statement, so that on a sharded
-- database (Citus) the trigger, firing on a shard, reads and writes that community's co-located
-- shards only. An erased member is no longer logged (erasure leaves nothing naming them; the
-- statement that records suggestions skips members who are gone); the members they were tied to
-- still are.
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
        SELECT changed_community, current_revision, m.member_id
          FROM members m
         WHERE m.community_id = changed_community AND m.member_id = ANY (touched)
        ON CONFLICT DO NOTHING;
    END LOOP;
    RETURN NULL;
END
$$;

-- Erasing a member takes their change rows along, as it takes everything else that names them.
DELETE FROM community_changes c
 WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.community_id = c.community_id AND m.member_id = c.member_id);
CREATE INDEX community_changes_member ON community_changes (community_id, member_id);
ALTER TABLE community_changes ADD FOREIGN KEY (community_id, member_id) REFERENCES members ON DELETE CASCADE;
