-- A key is checked by its id alone, before the community in the URL is looked at, so that a bad
-- key gets the same answer whether or not that community exists.
CREATE INDEX api_keys_key_id ON api_keys (key_id) WHERE revoked_at IS NULL;
