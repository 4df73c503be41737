-- The whole schema of the v1 contract.
-- Every table but communities leads with community_id, in its primary key and in every foreign key,
-- so the tables can be distributed by community (Citus: communities becomes a reference table).

CREATE TABLE communities (
    community_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug         text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    settings     jsonb NOT NULL DEFAULT '{}'::jsonb,
    -- Bumped in the same transaction as every write that changes the graph or profiles, so
    -- in-memory indexes can tell cheaply whether they are stale.
    revision     bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    community_id bigint NOT NULL REFERENCES communities ON DELETE CASCADE,
    key_id       text NOT NULL,
    role         text NOT NULL CHECK (role IN ('platform', 'organiser')),
    secret_hash  bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    PRIMARY KEY (community_id, key_id)
);

CREATE TABLE members (
    community_id        bigint NOT NULL REFERENCES communities ON DELETE CASCADE,
    member_id           text COLLATE "C" NOT NULL,
    display_name        text,
    interests           text[] NOT NULL DEFAULT '{}',
    needs               text[] NOT NULL DEFAULT '{}',
    offers              text[] NOT NULL DEFAULT '{}',
    private_needs       text[] NOT NULL DEFAULT '{}',
    attributes          jsonb NOT NULL DEFAULT '{}'::jsonb,
    formats             text[] NOT NULL DEFAULT '{online,in_person}',
    languages           text[] NOT NULL DEFAULT '{}',
    open_to_suggestions boolean NOT NULL DEFAULT true,
    belonging_score     smallint CHECK (belonging_score BETWEEN 1 AND 5),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, member_id)
);

-- An undirected tie is stored once, with member_a < member_b.
CREATE TABLE connections (
    community_id bigint NOT NULL,
    member_a     text COLLATE "C" NOT NULL,
    member_b     text COLLATE "C" NOT NULL,
    weight       real NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight < 'Infinity'),
    kind         text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, member_a, member_b),
    CHECK (member_a < member_b),
    FOREIGN KEY (community_id, member_a) REFERENCES members ON DELETE CASCADE,
    FOREIGN KEY (community_id, member_b) REFERENCES members ON DELETE CASCADE
);
CREATE INDEX connections_member_b ON connections (community_id, member_b);

-- A block works both ways; it is stored as the blocker set it.
CREATE TABLE blocks (
    community_id bigint NOT NULL,
    member_id    text COLLATE "C" NOT NULL,
    blocked_id   text COLLATE "C" NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, member_id, blocked_id),
    CHECK (member_id <> blocked_id),
    FOREIGN KEY (community_id, member_id) REFERENCES members ON DELETE CASCADE,
    FOREIGN KEY (community_id, blocked_id) REFERENCES members ON DELETE CASCADE
);
CREATE INDEX blocks_blocked ON blocks (community_id, blocked_id);

CREATE TABLE suggestions (
    community_id  bigint NOT NULL,
    suggestion_id uuid NOT NULL DEFAULT gen_random_uuid(),
    member_id     text COLLATE "C" NOT NULL,
    candidate_id  text COLLATE "C" NOT NULL,
    score         real NOT NULL,
    reasons       jsonb NOT NULL DEFAULT '[]'::jsonb,
    model_version text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    outcome       text CHECK (outcome IN ('accepted', 'declined')),
    outcome_at    timestamptz,
    PRIMARY KEY (community_id, suggestion_id),
    FOREIGN KEY (community_id, member_id) REFERENCES members ON DELETE CASCADE,
    FOREIGN KEY (community_id, candidate_id) REFERENCES members ON DELETE CASCADE
);
CREATE INDEX suggestions_member ON suggestions (community_id, member_id, created_at);
-- Exposure caps count how often a member was proposed to others in the last week.
CREATE INDEX suggestions_candidate ON suggestions (community_id, candidate_id, created_at);
CREATE INDEX suggestions_declined ON suggestions (community_id, member_id, candidate_id)
    WHERE outcome = 'declined';

CREATE TABLE support_groups (
    community_id bigint NOT NULL REFERENCES communities ON DELETE CASCADE,
    group_id     uuid NOT NULL DEFAULT gen_random_uuid(),
    name         text NOT NULL,
    topics       text[] NOT NULL,
    capacity     integer NOT NULL CHECK (capacity >= 1),
    format       text NOT NULL CHECK (format IN ('online', 'in_person')),
    language     text,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    -- Bumped on every change of capacity or membership; a placement records the versions it saw.
    version      bigint NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, group_id)
);

CREATE TABLE placements (
    community_id bigint NOT NULL REFERENCES communities ON DELETE CASCADE,
    placement_id uuid NOT NULL DEFAULT gen_random_uuid(),
    request      jsonb NOT NULL,
    result       jsonb NOT NULL,
    -- {group_id: version} of every group the proposal relied on.
    group_versions jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    applied_at   timestamptz,
    PRIMARY KEY (community_id, placement_id)
);

CREATE TABLE group_memberships (
    community_id bigint NOT NULL,
    group_id     uuid NOT NULL,
    member_id    text COLLATE "C" NOT NULL,
    placement_id uuid,
    joined_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, group_id, member_id),
    FOREIGN KEY (community_id, group_id) REFERENCES support_groups ON DELETE CASCADE,
    FOREIGN KEY (community_id, member_id) REFERENCES members ON DELETE CASCADE
);
CREATE INDEX group_memberships_member ON group_memberships (community_id, member_id);

CREATE TABLE report_snapshots (
    community_id bigint NOT NULL REFERENCES communities ON DELETE CASCADE,
    snapshot_id  bigint GENERATED ALWAYS AS IDENTITY,
    kind         text NOT NULL DEFAULT 'on_demand' CHECK (kind IN ('on_demand', 'daily')),
    attributes   text[] NOT NULL DEFAULT '{}',
    report       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, snapshot_id)
);
CREATE INDEX report_snapshots_time ON report_snapshots (community_id, created_at);

-- Background work (large reports, what-if runs, daily snapshots), claimed with SKIP LOCKED.
CREATE TABLE jobs (
    community_id bigint NOT NULL REFERENCES communities ON DELETE CASCADE,
    job_id       uuid NOT NULL DEFAULT gen_random_uuid(),
    kind         text NOT NULL,
    params       jsonb NOT NULL DEFAULT '{}'::jsonb,
    status       text NOT NULL DEFAULT 'queued'
                 CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress     real NOT NULL DEFAULT 0,
    result       jsonb,
    error        text,
    attempts     integer NOT NULL DEFAULT 0,
    run_after    timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    heartbeat_at timestamptz,
    finished_at  timestamptz,
    PRIMARY KEY (community_id, job_id)
);
CREATE INDEX jobs_queued ON jobs (run_after) WHERE status = 'queued';
