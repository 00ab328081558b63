-- A phone ($2) is erased from community $1: every message it sent or was sent, and every message of a
-- conversation it took part in, loses its body and pictures (their stored files too); the phone itself, where a
-- message names it, becomes $3 (a pseudonym naming the erasure). Rows, statuses and counts stay. Returns how many
-- messages and how many stored pictures.
WITH mine AS (
    SELECT DISTINCT cp.conversation_id
    FROM participants p JOIN conversation_participants cp ON cp.participant_id = p.id
    WHERE p.community_id = $1 AND p.phone = $2
), target AS (
    SELECT m.id FROM messages m WHERE m.community_id = $1 AND (m.from_number = $2 OR m.to_number = $2)
    UNION
    SELECT m.id FROM messages m JOIN mine ON m.conversation_id = mine.conversation_id
), redacted AS (
    UPDATE messages m
    SET body = '', media_urls = '{}', redacted_at = now(),
        from_number = CASE WHEN m.from_number = $2 THEN $3 ELSE m.from_number END,
        to_number = CASE WHEN m.to_number = $2 THEN $3 ELSE m.to_number END
    FROM target t
    WHERE m.id = t.id
    RETURNING m.id
), media AS (
    DELETE FROM message_media mm USING redacted r WHERE mm.message_id = r.id RETURNING 1
)
SELECT (SELECT count(*) FROM redacted) AS messages, (SELECT count(*) FROM media) AS media
