-- Held messages that will never go: canceled. $1 community, $2 reason, $3 ids (null: all of them).
WITH canceled AS (
    UPDATE messages SET status = 'canceled', updated_at = now()
    WHERE community_id = $1 AND status = 'held' AND status_reason = $2 AND ($3::bigint[] IS NULL OR id = ANY($3))
    RETURNING id
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'canceled' FROM canceled
)
SELECT id FROM canceled ORDER BY id
