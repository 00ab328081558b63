-- A page of a broadcast's recipients in the order they were added, with their messages' status. $1 broadcast,
-- $2 after this recipient id, $3 how many.
SELECT r.id, r.phone, r.outcome, r.skip_reason, r.message_id, r.processed_at, m.status, m.status_reason
FROM broadcast_recipients r
LEFT JOIN messages m ON m.id = r.message_id
WHERE r.broadcast_id = $1 AND r.id > $2
ORDER BY r.id
LIMIT $3
