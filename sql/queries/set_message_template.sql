-- Tie a message just stored ($1) to the template it was rendered from ($2).
UPDATE messages SET template_id = $2 WHERE id = $1
