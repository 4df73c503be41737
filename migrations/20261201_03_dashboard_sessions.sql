-- Dashboard sign-ins, so that signing out ends a session on the server: a cookie replayed after
-- sign-out finds no row. Revoking the organiser key that opened a session removes it too.
CREATE TABLE dashboard_sessions (
    community_id bigint NOT NULL,
    session_id   uuid NOT NULL,
    key_id       text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (community_id, session_id),
    FOREIGN KEY (community_id, key_id) REFERENCES api_keys ON DELETE CASCADE
);
