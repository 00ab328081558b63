-- A number leaves its community: what still waits to go from it (queued or held) never will; canceled, with
-- the reason $2 (a send already at the carrier, "submitting", goes on). Returns how many.
WITH canceled AS (
    UPDATE messages SET status = 'canceled', status_reason = $2, updated_at = now()
    WHERE from_number = $1 AND direction = 'outbound' AND status IN ('queued', 'held')
    RETURNING id
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'canceled' FROM canceled
)
SELECT count(*) FROM canceled
