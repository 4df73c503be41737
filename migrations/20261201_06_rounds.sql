-- Intro rounds: each round introduces its members in pairs (a trio absorbs an odd member out).
-- Every row that names a member references it, so erasing the member removes it: a pair goes
-- whole (its intro and reasons name all of its members), and so does the member's unpaired row.

CREATE TABLE rounds (
    community_id        bigint NOT NULL REFERENCES communities ON DELETE CASCADE,
    round_id            uuid NOT NULL DEFAULT gen_random_uuid(),
    group_size          smallint NOT NULL CHECK (group_size = 2),
    avoid_repeat_rounds integer NOT NULL CHECK (avoid_repeat_rounds >= 0),
    bridging_weight     real NOT NULL CHECK (bridging_weight BETWEEN 0 AND 1),
    objective           double precision NOT NULL,
    bound               double precision NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (community_id, round_id)
);
CREATE INDEX rounds_newest ON rounds (community_id, created_at DESC);

CREATE TABLE round_pairs (
    community_id bigint NOT NULL,
    pair_id      uuid NOT NULL DEFAULT gen_random_uuid(),
    round_id     uuid NOT NULL,
    position     integer NOT NULL,
    score        real NOT NULL,
    -- For each member of the pair, the reasons written for them about the others.
    reasons      jsonb NOT NULL DEFAULT '{}'::jsonb,
    intro        text NOT NULL,
    -- Set once: the answer cannot change.
    outcome      text CHECK (outcome IN ('met', 'not_met', 'skipped')),
    outcome_at   timestamptz,
    PRIMARY KEY (community_id, pair_id),
    FOREIGN KEY (community_id, round_id) REFERENCES rounds ON DELETE CASCADE
);
CREATE INDEX round_pairs_round ON round_pairs (community_id, round_id, position);

CREATE TABLE round_pair_members (
    community_id bigint NOT NULL,
    pair_id      uuid NOT NULL,
    member_id    text COLLATE "C" NOT NULL,
    PRIMARY KEY (community_id, pair_id, member_id),
    FOREIGN KEY (community_id, pair_id) REFERENCES round_pairs ON DELETE CASCADE,
    FOREIGN KEY (community_id, member_id) REFERENCES members ON DELETE CASCADE
);
CREATE INDEX round_pair_members_member ON round_pair_members (community_id, member_id);

CREATE TABLE round_unpaired (
    community_id bigint NOT NULL,
    round_id     uuid NOT NULL,
    member_id    text COLLATE "C" NOT NULL,
    reason       text NOT NULL,
    PRIMARY KEY (community_id, round_id, member_id),
    FOREIGN KEY (community_id, round_id) REFERENCES rounds ON DELETE CASCADE,
    FOREIGN KEY (community_id, member_id) REFERENCES members ON DELETE CASCADE
);
CREATE INDEX round_unpaired_member ON round_unpaired (community_id, member_id);

-- A pair loses a member only when the member is erased; the rest of the pair names them, so it goes too.
CREATE FUNCTION erase_pairs_of_erased_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM round_pairs p
     USING (SELECT DISTINCT community_id, pair_id FROM removed) r
     WHERE p.community_id = r.community_id AND p.pair_id = r.pair_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER round_pair_members_removed AFTER DELETE ON round_pair_members
    REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION erase_pairs_of_erased_members();
