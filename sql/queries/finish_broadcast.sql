-- A running broadcast none of whose recipients is pending (committed: a page another process holds is still
-- pending) is completed. $1 broadcast. Returns its id when it was.
UPDATE broadcasts SET state = 'completed', finished_at = now()
WHERE id = $1 AND state = 'running'
  AND NOT EXISTS (SELECT 1 FROM broadcast_recipients r WHERE r.broadcast_id = $1 AND r.outcome = 'pending')
RETURNING id
