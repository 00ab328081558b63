-- Retention: the bytes of attachments whose conversation ended (closed or expired) more than $1 days ago are
-- deleted (the row stays, state deleted, with its size and hash for the record), and so are uploads no message
-- named within a day; at most $2 a pass.
WITH expired AS (
    SELECT mm.id FROM message_media mm
    LEFT JOIN messages m ON m.id = mm.message_id LEFT JOIN conversations c ON c.id = m.conversation_id
    WHERE mm.state IN ('stored', 'refused', 'failed')
      AND ((c.status <> 'open' AND c.closed_at < now() - make_interval(days => $1))
           OR (mm.message_id IS NULL AND mm.created_at < now() - interval '1 day'))
    LIMIT $2
    FOR UPDATE OF mm SKIP LOCKED
), deleted AS (
    UPDATE message_media mm SET state = 'deleted', content = NULL, source_url = NULL
    FROM expired WHERE mm.id = expired.id
    RETURNING mm.id
)
SELECT count(*) AS deleted FROM deleted
