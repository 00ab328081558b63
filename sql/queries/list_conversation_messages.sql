-- A conversation's messages, oldest first, a page at a time (keyset on id).
SELECT * FROM messages WHERE conversation_id = $1 AND id > $2 ORDER BY id LIMIT $3
