-- Retention, bodies: the next $2 messages after the pass's mark, as far as they are older than $1 days, lose their
-- body and pictures (stored files too) when they are done (received, handed to the carrier, or never to be sent);
-- their rows, statuses and numbers stay. A message still waiting (queued, held, being submitted) keeps its body:
-- it is yet to be sent. The mark moves past what was read. Returns how many were read (fewer than $2: the pass is done) and
-- redacted.
WITH mark AS (
    SELECT coalesce((SELECT last_id FROM retention_marks WHERE name = 'bodies'), 0) AS last_id
), chunk AS (
    SELECT m.id, m.created_at FROM messages m, mark WHERE m.id > mark.last_id ORDER BY m.id LIMIT $2
), old AS (
    -- the chunk's run of old enough messages, up to the first young one (ids follow time)
    SELECT id FROM chunk
    WHERE id < coalesce((SELECT min(id) FROM chunk WHERE created_at >= now() - make_interval(days => $1)),
                        9223372036854775807)
), redacted AS (
    UPDATE messages m SET body = '', media_urls = '{}', redacted_at = now()
    FROM old o
    WHERE m.id = o.id AND m.redacted_at IS NULL
      AND m.status NOT IN ('queued', 'held', 'submitting')
    RETURNING m.id
), media AS (
    DELETE FROM message_media mm USING redacted r WHERE mm.message_id = r.id
), moved AS (
    INSERT INTO retention_marks (name, last_id) SELECT 'bodies', max(id) FROM old HAVING count(*) > 0
    ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id
)
SELECT (SELECT count(*) FROM old) AS read, (SELECT count(*) FROM redacted) AS changed
