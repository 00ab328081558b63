-- Delete a template ($2 of community $1) that no message was sent from; returns whether it was deleted. A message
-- stored meanwhile (or another table's reference) fails the delete on its foreign key: the caller answers in use.
DELETE FROM templates t
WHERE t.community_id = $1 AND t.id = $2
  AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.template_id = t.id)
RETURNING t.id
