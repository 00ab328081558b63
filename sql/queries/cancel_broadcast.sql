-- Stop a scheduled or running broadcast. $1 community, $2 broadcast. Returns the state it had (no row: not a
-- broadcast of the community, or already over).
UPDATE broadcasts SET state = 'canceled', finished_at = now()
WHERE community_id = $1 AND id = $2 AND state IN ('scheduled', 'running')
RETURNING old.state
