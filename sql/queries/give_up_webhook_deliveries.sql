-- Due deliveries that already had their $1 tries (the last one's outcome was never recorded: its process
-- died, or Postgres was away): failed, without another try.
UPDATE webhook_deliveries SET status = 'failed', last_error = coalesce(last_error, 'no outcome recorded'),
    updated_at = now()
WHERE status = 'pending' AND next_attempt_at <= now() AND attempts >= $1
RETURNING id, event
