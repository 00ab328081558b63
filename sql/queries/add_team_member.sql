-- Add phone $2 (name $3) to team $1; no row when already a member.
INSERT INTO team_members (team_id, phone, name) VALUES ($1, $2, $3)
ON CONFLICT (team_id, phone) DO NOTHING
RETURNING phone
