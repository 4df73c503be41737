-- The impact report and the dashboard's weekly counts read a window of days: these let them read
-- only the rows in it (first ties are then looked up member by member through the existing keys).
CREATE INDEX connections_created ON connections (community_id, created_at);
CREATE INDEX members_created ON members (community_id, created_at);
CREATE INDEX suggestions_created ON suggestions (community_id, created_at);
CREATE INDEX suggestions_answered ON suggestions (community_id, outcome_at) WHERE outcome_at IS NOT NULL;
