-- The impact report and the dashboard's weekly counts read a window of days: these let them read
-- only the members and suggestions in it. (Ties are read whole, for each member's first tie; an
-- index by tie time would mislead lookups by member, as one import gives its ties one time.)
CREATE INDEX members_created ON members (community_id, created_at);
CREATE INDEX suggestions_created ON suggestions (community_id, created_at);
CREATE INDEX suggestions_answered ON suggestions (community_id, outcome_at) WHERE outcome_at IS NOT NULL;
