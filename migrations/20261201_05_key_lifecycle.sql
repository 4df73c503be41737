-- Key rotation with a grace period: a rotated key keeps working until its revoked_at, which may lie
-- in the future, so the partial index on active keys (revoked_at IS NULL) no longer finds every key
-- that still opens the API. Keys are few and rarely written: index them all by id.
DROP INDEX api_keys_key_id;
CREATE INDEX api_keys_key_id ON api_keys (key_id);

-- When a key was last seen, written at most about once a minute per key and process.
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
