-- Community $1's numbers with their assignments (a member, a team, a category), by phone.
SELECT phone, member_phone, member_name, team_id, category FROM community_numbers WHERE community_id = $1 ORDER BY phone
