-- Suggestions in one round trip: the key, the community's settings, the asking member's freshness,
-- the hard rules, the exposure cap and the recording, in one call (service/repository/suggestions.py).
--
-- The service ranks a member's candidates on its mapped index (service/shared_indexes.py), then
-- calls this once. The call checks what the ranking assumed and records only if it still holds:
--
--   * the platform key is still active for this community (it is cached by the process that
--     ranked): otherwise status 'unauthorised';
--   * the community's settings are the ones the ranking used: otherwise 'settings', with the
--     current ones;
--   * the asking member is unchanged since the revision their profile and ties were read at
--     (no change row after it): otherwise 'stale', with the current revision, and the caller
--     reads what changed and ranks again. Changes to other members never make a call stale:
--     the rules below read the candidates as they are now;
--   * the asking member exists: otherwise 'missing'.
--
-- A NULL p_settings or p_read_at skips that check.
--
-- Then, exactly as the statement it replaces: a candidate is kept when they are still a member
-- open to suggestions, not tied to the asker, not blocked either way, not in a declined
-- suggestion either way, and either already have a suggestion to this member awaiting feedback
-- (its id is reused, no new exposure) or were proposed fewer times than the stored cap
-- (max_exposures_per_week) in the last 7 days. The exposure counters of all candidates are held (advisory locks, in sorted order)
-- before the candidates are counted, and each statement of a PL/pgSQL function in READ
-- COMMITTED takes its own snapshot, so the count sees every exposure an earlier holder
-- committed: the cap holds under any concurrency. The asker and the kept candidates are locked
-- against erasure (FOR KEY SHARE) until the call commits.
--
-- The call commits without waiting for its WAL to reach disk (synchronous_commit off for its
-- own transaction): a crash of PostgreSQL can lose the suggestions recorded in its last moments
-- (see the README). Every statement names one community, so on Citus each runs on the
-- community's shard.
CREATE FUNCTION record_suggestions(
    p_community bigint, p_key_id text, p_secret_hash bytea, p_settings jsonb,
    p_member text, p_read_at bigint, p_ranked jsonb,
    p_default_cap integer, p_limit integer, p_model_version text,
    OUT status text, OUT revision bigint, OUT settings jsonb, OUT kept text[], OUT ids text[])
LANGUAGE plpgsql AS $$
DECLARE
    cap integer;
    candidates text[];
    reasons jsonb[];
    scores real[];
    pending uuid[];
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    IF NOT EXISTS (SELECT 1 FROM api_keys k
                    WHERE k.community_id = p_community AND k.key_id = p_key_id AND k.role = 'platform'
                      AND k.secret_hash = p_secret_hash AND (k.revoked_at IS NULL OR k.revoked_at > now())) THEN
        status := 'unauthorised';
        RETURN;
    END IF;
    SELECT c.settings INTO settings FROM communities c WHERE c.community_id = p_community;
    SELECT r.revision INTO revision FROM community_revisions r WHERE r.community_id = p_community;
    IF p_settings IS NOT NULL AND settings IS DISTINCT FROM p_settings THEN
        status := 'settings';
        RETURN;
    END IF;
    -- The cap is the one stored now, whatever settings the ranking used (the last attempt of a
    -- request does not compare them): the weekly cap holds even for a process that has not yet
    -- seen it lowered. p_default_cap stands for a setting never stored.
    cap := coalesce((settings->>'max_exposures_per_week')::integer, p_default_cap);
    settings := NULL;
    IF p_read_at IS NOT NULL AND revision > p_read_at AND EXISTS (
            SELECT 1 FROM community_changes ch
             WHERE ch.community_id = p_community AND ch.member_id = p_member AND ch.revision > p_read_at) THEN
        status := 'stale';
        RETURN;
    END IF;
    PERFORM 1 FROM members me WHERE me.community_id = p_community AND me.member_id = p_member FOR KEY SHARE;
    IF NOT FOUND THEN
        status := 'missing';
        RETURN;
    END IF;
    status := 'ok';
    SELECT array_agg(e->>0 ORDER BY n) INTO candidates FROM jsonb_array_elements(p_ranked) WITH ORDINALITY AS x(e, n);
    IF coalesce(cardinality(candidates), 0) = 0 OR p_limit <= 0 THEN
        kept := '{}';
        ids := '{}';
        RETURN;
    END IF;
    PERFORM count(pg_advisory_xact_lock(x.key)) FROM (
        SELECT DISTINCT hashtextextended('belonging.exposure:' || p_community::text || ':' || c, 0) AS key
          FROM unnest(candidates) AS c ORDER BY key) AS x;
    SELECT coalesce(array_agg(k.member_id ORDER BY k.position), '{}'),
           coalesce(array_agg(k.score ORDER BY k.position), '{}'),
           coalesce(array_agg(k.pending ORDER BY k.position), '{}'),
           coalesce(array_agg(k.reasons ORDER BY k.position), '{}')
      INTO kept, scores, pending, reasons
      FROM (SELECT r.member_id, r.position::integer AS position, r.score, r.reasons,
                   waiting.suggestion_id AS pending
              FROM (SELECT e->>0 AS member_id, (e->>1)::real AS score, e->2 AS reasons, n AS position
                      FROM jsonb_array_elements(p_ranked) WITH ORDINALITY AS x(e, n)) AS r
              JOIN members m ON m.community_id = p_community AND m.member_id = r.member_id
                            AND m.open_to_suggestions AND m.member_id <> p_member
              LEFT JOIN LATERAL (
                   SELECT s.suggestion_id FROM suggestions s
                    WHERE s.community_id = p_community AND s.member_id = p_member AND s.candidate_id = r.member_id
                      AND s.outcome IS NULL AND s.created_at > now() - interval '7 days'
                    ORDER BY s.created_at DESC LIMIT 1) waiting ON true
             WHERE NOT EXISTS (SELECT 1 FROM connections c WHERE c.community_id = p_community
                                  AND ((c.member_a = p_member AND c.member_b = m.member_id)
                                    OR (c.member_a = m.member_id AND c.member_b = p_member)))
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.community_id = p_community
                                  AND ((b.member_id = p_member AND b.blocked_id = m.member_id)
                                    OR (b.member_id = m.member_id AND b.blocked_id = p_member)))
               AND NOT EXISTS (SELECT 1 FROM suggestions d WHERE d.community_id = p_community
                                  AND d.outcome = 'declined'
                                  AND ((d.member_id = p_member AND d.candidate_id = m.member_id)
                                    OR (d.member_id = m.member_id AND d.candidate_id = p_member)))
               AND (waiting.suggestion_id IS NOT NULL
                    OR (SELECT count(*) FROM (SELECT 1 FROM suggestions e
                                               WHERE e.community_id = p_community AND e.candidate_id = r.member_id
                                                 AND e.created_at > now() - interval '7 days'
                                               LIMIT cap) AS recent) < cap)
             ORDER BY r.position
             LIMIT p_limit
             -- Erasing a kept candidate waits for this call, or this call skips them.
             FOR KEY SHARE OF m) AS k;
    -- New suggestions get their ids here, so that one insert with no RETURNING records them all.
    SELECT coalesce(array_agg(coalesce(p, gen_random_uuid())::text ORDER BY n), '{}')
      INTO ids FROM unnest(pending) WITH ORDINALITY AS x(p, n);
    INSERT INTO suggestions (community_id, suggestion_id, member_id, candidate_id, score, reasons, model_version)
    SELECT p_community, n.id::uuid, p_member, n.member_id, n.score, n.reasons, p_model_version
      FROM unnest(ids, kept, scores, reasons, pending) AS n(id, member_id, score, reasons, pending)
     WHERE n.pending IS NULL;
END
$$;

-- A suggestion names two members, and erasing either removes it. That was the work of two foreign
-- keys, which cost every recorded suggestion two lookups of a member row (20 per request of 10):
-- record_suggestions already holds both members against erasure (FOR KEY SHARE) when it inserts,
-- so the statement trigger below keeps the same promise for the price of one delete per erasure.
-- One community per statement, as every trigger here (on Citus it fires on a shard).
CREATE FUNCTION erase_suggestions_naming_members() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    erased_community bigint;
    erased_ids text[];
BEGIN
    FOR erased_community IN SELECT DISTINCT community_id FROM erased LOOP
        SELECT array_agg(member_id) INTO erased_ids FROM erased WHERE community_id = erased_community;
        DELETE FROM suggestions s
         WHERE s.community_id = erased_community AND s.member_id = ANY (erased_ids);
        DELETE FROM suggestions s
         WHERE s.community_id = erased_community AND s.candidate_id = ANY (erased_ids);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER members_erased_suggestions AFTER DELETE ON members
    REFERENCING OLD TABLE AS erased
    FOR EACH STATEMENT EXECUTE FUNCTION erase_suggestions_naming_members();

DO $$
DECLARE
    name text;
BEGIN
    FOR name IN SELECT conname FROM pg_constraint
                 WHERE conrelid = 'suggestions'::regclass AND contype = 'f'
                   AND confrelid = 'members'::regclass LOOP
        EXECUTE format('ALTER TABLE suggestions DROP CONSTRAINT %I', name);
    END LOOP;
END
$$;
