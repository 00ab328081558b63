-- A community's held messages of one reason, oldest first, a page at a time.
SELECT * FROM messages
WHERE community_id = $1 AND status = 'held' AND status_reason = $2 AND id > $3
ORDER BY id LIMIT $4
