-- Take phone $2 from team $1; no row when not a member.
DELETE FROM team_members WHERE team_id = $1 AND phone = $2 RETURNING phone
