-- Retention, rows: the next $2 messages after the pass's mark, as far as they are older than $1 days, are deleted
-- with their status history, stored pictures and finished platform callbacks, when they are done (as
-- redact_old_messages.sql); a verification that sent one forgets it. A message still waiting stays. The mark
-- moves past what was read. Returns how many were read and deleted.
WITH mark AS (
    SELECT coalesce((SELECT last_id FROM retention_marks WHERE name = 'rows'), 0) AS last_id
), chunk AS (
    SELECT m.id, m.created_at FROM messages m, mark WHERE m.id > mark.last_id ORDER BY m.id LIMIT $2
), old AS (
    SELECT id FROM chunk
    WHERE id < coalesce((SELECT min(id) FROM chunk WHERE created_at >= now() - make_interval(days => $1)),
                        9223372036854775807)
), doomed AS (
    SELECT m.id FROM messages m JOIN old o ON o.id = m.id
    WHERE m.status NOT IN ('queued', 'held', 'submitting')
      AND NOT EXISTS (SELECT 1 FROM platform_callbacks pc WHERE pc.message_id = m.id AND pc.outcome IS NULL)
), history AS (
    DELETE FROM message_events e USING doomed d WHERE e.message_id = d.id
), media AS (
    DELETE FROM message_media mm USING doomed d WHERE mm.message_id = d.id
), callbacks AS (
    DELETE FROM platform_callbacks pc USING doomed d WHERE pc.message_id = d.id
), codes AS (
    UPDATE verifications v SET message_id = NULL FROM doomed d WHERE v.message_id = d.id
), deleted AS (
    DELETE FROM messages m USING doomed d WHERE m.id = d.id RETURNING m.id
), moved AS (
    INSERT INTO retention_marks (name, last_id) SELECT 'rows', max(id) FROM old HAVING count(*) > 0
    ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id
)
SELECT (SELECT count(*) FROM old) AS read, (SELECT count(*) FROM deleted) AS changed
