-- Delete team $1 with its members, unless a number is assigned to it (no row then: unassign it first). Its
-- conversations keep running, no longer tied to it (conversations.team_id: ON DELETE SET NULL).
DELETE FROM teams t WHERE t.id = $1 AND NOT EXISTS (SELECT 1 FROM community_numbers n WHERE n.team_id = t.id)
RETURNING id
