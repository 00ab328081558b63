-- A try that the carrier asked us to repeat later: back to queued, with the reason.
-- (By id alone, then checked: see begin_send.)
WITH target AS MATERIALIZED (
    SELECT id, status FROM messages WHERE id = $1 FOR UPDATE
)
UPDATE messages m SET status = 'queued', error_message = $2, updated_at = now()
FROM target t
WHERE m.id = t.id AND t.status = 'submitting'
