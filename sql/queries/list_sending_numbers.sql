-- A community's numbers as a template send chooses among them: each one's category (null: all) and assignment
-- (a dedicated or a team's number never sends a template). $1 community.
SELECT phone, category, member_phone, team_id FROM community_numbers WHERE community_id = $1 ORDER BY phone
