-- record_suggestions (20261203_01) with the same rules and answers, and two of its lookups made
-- cheaper as a community's history grows:
--
--   * a candidate's suggestion to the asker awaiting feedback was found by walking every
--     suggestion of that candidate in the last week (up to the weekly cap, per candidate); the
--     asker's own pending suggestions are now read once, from the asker's range of
--     suggestions_member, and joined;
--   * "declined either way" was one test with OR, which could only be answered from the
--     community's whole range of suggestions_declined; it is now two lookups of one
--     (member, candidate) pair each.
CREATE OR REPLACE FUNCTION record_suggestions(
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
              -- The asker's suggestions awaiting feedback, read once: a few rows of the asker's own
              -- index range, where a lookup per candidate walked that candidate's whole week.
              LEFT JOIN (
                   SELECT DISTINCT ON (s.candidate_id) s.candidate_id, s.suggestion_id FROM suggestions s
                    WHERE s.community_id = p_community AND s.member_id = p_member
                      AND s.outcome IS NULL AND s.created_at > now() - interval '7 days'
                    ORDER BY s.candidate_id, s.created_at DESC) waiting ON waiting.candidate_id = r.member_id
             WHERE NOT EXISTS (SELECT 1 FROM connections c WHERE c.community_id = p_community
                                  AND ((c.member_a = p_member AND c.member_b = m.member_id)
                                    OR (c.member_a = m.member_id AND c.member_b = p_member)))
               AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.community_id = p_community
                                  AND ((b.member_id = p_member AND b.blocked_id = m.member_id)
                                    OR (b.member_id = m.member_id AND b.blocked_id = p_member)))
               -- Declined either way: two lookups of (member, candidate) in the declined index. One
               -- test with OR could only read the community's whole range of that index.
               AND NOT EXISTS (SELECT 1 FROM suggestions d WHERE d.community_id = p_community
                                  AND d.outcome = 'declined' AND d.member_id = p_member AND d.candidate_id = m.member_id)
               AND NOT EXISTS (SELECT 1 FROM suggestions d WHERE d.community_id = p_community
                                  AND d.outcome = 'declined' AND d.member_id = m.member_id AND d.candidate_id = p_member)
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
