-- Assign community $2's number $1 to a member (phone $3, name $4), to team $5, to a category $6 ('transactional' or
-- 'marketing': README "Separate numbers for marketing"), or (all null) to nothing; the previous assignment goes.
-- No row: the number is not the community's.
UPDATE community_numbers SET member_phone = $3, member_name = $4, team_id = $5, category = $6
WHERE phone = $1 AND community_id = $2
RETURNING phone, member_phone, member_name, team_id, category
