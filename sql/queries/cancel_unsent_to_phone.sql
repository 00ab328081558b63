-- A phone is erased from community $1: what still waits to go to it ($2; queued or held) never will: canceled with
-- the reason $3 (a send already at the carrier goes on). Locked in id order, FOR UPDATE, as
-- cancel_unsent_from_number.sql (tests/test_row_locks.py). Returns how many. No status event: the event would
-- carry the phone the erasure removes.
WITH target AS (
    SELECT id FROM messages
    WHERE community_id = $1 AND to_number = $2 AND direction = 'outbound' AND status IN ('queued', 'held')
    ORDER BY id
    FOR UPDATE
), canceled AS (
    UPDATE messages m SET status = 'canceled', status_reason = $3, updated_at = now()
    FROM target t
    WHERE m.id = t.id
    RETURNING m.id
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'canceled' FROM canceled
)
SELECT count(*) FROM canceled
