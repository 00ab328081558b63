-- Team $2 of community $1 (the team_rows view, migration 0022).
SELECT * FROM team_rows WHERE community_id = $1 AND id = $2
