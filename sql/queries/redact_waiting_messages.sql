-- Retention, bodies: up to $1 messages the walk passed while they waited (retention_waiting, rule 'bodies'; they were
-- old enough then) lose their body and pictures once done, as redact_old_messages.sql; one still waiting stays
-- noted, one gone or already redacted is forgotten. Returns how many were looked at and redacted.
WITH due AS (
    SELECT w.message_id, m.id IS NULL OR m.redacted_at IS NOT NULL AS settled
    FROM retention_waiting w LEFT JOIN messages m ON m.id = w.message_id
    WHERE w.rule = 'bodies' AND (m.id IS NULL OR m.redacted_at IS NOT NULL
                                 OR m.status NOT IN ('queued', 'held', 'submitting'))
    ORDER BY w.message_id
    LIMIT $1
), redacted AS (
    UPDATE messages m SET body = '', media_urls = '{}', redacted_at = now()
    FROM due d
    WHERE m.id = d.message_id AND m.redacted_at IS NULL AND m.status NOT IN ('queued', 'held', 'submitting')
    RETURNING m.id
), media AS (
    DELETE FROM message_media mm USING redacted r WHERE mm.message_id = r.id
), forgotten AS (
    DELETE FROM retention_waiting w USING due d
    WHERE w.rule = 'bodies' AND w.message_id = d.message_id
      AND (d.settled OR d.message_id IN (SELECT id FROM redacted))
)
SELECT (SELECT count(*) FROM due) AS read, (SELECT count(*) FROM redacted) AS changed
