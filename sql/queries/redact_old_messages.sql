-- Retention, bodies: the next $2 messages after the pass's mark, as far as they are older than $1 days, lose their
-- body and pictures (stored files too) when they are done (received, handed to the carrier, or never to be sent);
-- their rows, statuses and numbers stay. A message still waiting (queued, held, being submitted) keeps its body:
-- it is yet to be sent: the walk notes it in retention_waiting, where redact_waiting_messages.sql finds it once sent.
-- The run read is retention_run's (migration 0038); the mark moves past it. Returns how many were read (fewer than
-- $2: the pass is done) and redacted.
WITH old AS (
    SELECT id FROM retention_run('bodies', $1, $2) AS id
), redacted AS (
    UPDATE messages m SET body = '', media_urls = '{}', redacted_at = now()
    FROM old o
    WHERE m.id = o.id AND m.redacted_at IS NULL
      AND m.status NOT IN ('queued', 'held', 'submitting')
    RETURNING m.id
), media AS (
    DELETE FROM message_media mm USING redacted r WHERE mm.message_id = r.id
), waiting AS (
    INSERT INTO retention_waiting (rule, message_id)
    SELECT 'bodies', m.id FROM messages m JOIN old o ON o.id = m.id
    WHERE m.redacted_at IS NULL AND m.status IN ('queued', 'held', 'submitting')
    ON CONFLICT DO NOTHING
), moved AS (
    INSERT INTO retention_marks (name, last_id) SELECT 'bodies', max(id) FROM old HAVING count(*) > 0
    ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id
)
SELECT (SELECT count(*) FROM old) AS read, (SELECT count(*) FROM redacted) AS changed
