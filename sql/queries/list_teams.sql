-- Community $1's teams, oldest first (the team_rows view, migration 0022).
SELECT * FROM team_rows WHERE community_id = $1 ORDER BY id
