-- The running broadcasts, oldest first, with what rendering their recipients needs. $1 how many.
SELECT id, community_id, template_id, category, body, data FROM broadcasts WHERE state = 'running' ORDER BY id
LIMIT $1
