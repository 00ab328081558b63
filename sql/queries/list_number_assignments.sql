-- Community $1's numbers with their assignments, by phone.
SELECT phone, member_phone, member_name, team_id FROM community_numbers WHERE community_id = $1 ORDER BY phone
