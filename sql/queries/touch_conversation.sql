-- A message in an open conversation: it stays alive. Returns nothing when it is not open.
UPDATE conversations SET last_activity_at = now() WHERE id = $1 AND status = 'open' RETURNING id
