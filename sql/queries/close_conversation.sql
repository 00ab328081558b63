UPDATE conversations SET status = 'closed', closed_at = now(), closed_reason = $2
WHERE id = $1 AND status = 'open'
RETURNING id
