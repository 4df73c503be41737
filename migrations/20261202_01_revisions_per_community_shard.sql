-- The write rules of 20261201_01 in a form that also holds on a sharded database (Citus).
--
-- On Citus, communities is a reference table (a copy on every node) and the community tables are
-- distributed by community_id, so their triggers fire on the shards, on the workers. A trigger on
-- a shard may write only co-located shards of the same node: the revision counter therefore moves
-- out of communities into community_revisions, a table of its own distributed like the others.
-- The trigger functions name one community per statement (a loop over the changed communities),
-- and compute pg_current_xact_id() before the statement that uses it, so that every statement is
-- routed to one shard. On a single PostgreSQL they behave exactly as before.

CREATE TABLE community_revisions (
    community_id bigint PRIMARY KEY REFERENCES communities ON DELETE CASCADE,
    -- Moves once per transaction that changes what the suggestion index is built from.
    revision     bigint NOT NULL DEFAULT 0,
    revised_in   xid8
);
INSERT INTO community_revisions (community_id, revision) SELECT community_id, revision FROM communities;
ALTER TABLE communities DROP COLUMN revision, DROP COLUMN revised_in;

CREATE OR REPLACE FUNCTION bump_community_revision() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    this_transaction xid8 := pg_current_xact_id();
    revised bigint;
BEGIN
    FOR revised IN SELECT DISTINCT community_id FROM changed_rows LOOP
        UPDATE community_revisions
           SET revision = revision + 1, revised_in = this_transaction
         WHERE community_id = revised
           AND revised_in IS DISTINCT FROM this_transaction;
    END LOOP;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION bump_community_revision_for_row() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    this_transaction xid8 := pg_current_xact_id();
BEGIN
    UPDATE community_revisions
       SET revision = revision + 1, revised_in = this_transaction
     WHERE community_id = NEW.community_id
       AND revised_in IS DISTINCT FROM this_transaction;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION erase_documents_naming_members() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    erased_community bigint;
    erased_members jsonb;
BEGIN
    FOR erased_community, erased_members IN
        SELECT community_id, jsonb_build_object('m', jsonb_agg(member_id)) FROM erased GROUP BY community_id
    LOOP
        -- `@ == $m[*]` holds when the value equals any of the erased ids.
        DELETE FROM placements
         WHERE community_id = erased_community
           AND jsonb_path_exists(result, '$.** ? (@ == $m[*])', erased_members);
        DELETE FROM jobs
         WHERE community_id = erased_community
           AND (jsonb_path_exists(coalesce(result, 'null'), '$.** ? (@ == $m[*])', erased_members)
                OR jsonb_path_exists(coalesce(params, 'null'), '$.** ? (@ == $m[*])', erased_members));
    END LOOP;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION erase_pairs_of_erased_members() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    erased_community bigint;
    erased_pairs uuid[];
BEGIN
    FOR erased_community, erased_pairs IN
        SELECT community_id, array_agg(DISTINCT pair_id) FROM removed GROUP BY community_id
    LOOP
        DELETE FROM round_pairs WHERE community_id = erased_community AND pair_id = ANY (erased_pairs);
    END LOOP;
    RETURN NULL;
END
$$;
