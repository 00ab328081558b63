-- A number leaves its community: what still waits to go from it (queued or held) never will; canceled, with
-- the reason $2 (a send already at the carrier, "submitting", goes on). Returns how many. The rows are locked in
-- id order, as the send batches lock theirs, so the two never wait on each other in a cycle.
WITH target AS (
    SELECT id FROM messages
    WHERE from_number = $1 AND direction = 'outbound' AND status IN ('queued', 'held')
    ORDER BY id
    FOR NO KEY UPDATE
), canceled AS (
    UPDATE messages m SET status = 'canceled', status_reason = $2, updated_at = now()
    FROM target t
    WHERE m.id = t.id
    RETURNING m.id
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'canceled' FROM canceled
)
SELECT count(*) FROM canceled
