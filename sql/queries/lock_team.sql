-- Team $2 of community $1, locked for the caller's transaction: changes to its members are made one at a time (the
-- member count is checked against groups.max_members under it). No row: no such team.
SELECT id, style FROM teams WHERE community_id = $1 AND id = $2 FOR UPDATE
