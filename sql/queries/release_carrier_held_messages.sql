-- Messages held because their number's carrier was not served go back to the queue once it is, oldest first:
-- $1 the carriers this gateway serves, $2 its default carrier (for a number that names none, or that is no
-- longer a community number: begin_send.sql sends through the default then), $3 at most this many. Rows another
-- process is releasing are skipped, not waited for.
WITH due AS (
    SELECT m.id
    FROM messages m LEFT JOIN community_numbers n ON n.phone = m.from_number
    WHERE m.waiting = 'held' AND m.status_reason = 'carrier_not_served'
      AND coalesce(n.carrier, $2::text) = ANY($1::text[])
    ORDER BY m.id
    LIMIT $3
    FOR UPDATE OF m SKIP LOCKED
), released AS (
    UPDATE messages m
    SET status = 'queued', status_reason = NULL, updated_at = now()
    FROM due
    WHERE m.id = due.id AND m.status = 'held' AND m.status_reason = 'carrier_not_served'
    RETURNING m.id, m.priority, m.from_number, m.segments
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'queued' FROM released
)
SELECT id, priority, from_number, segments FROM released ORDER BY id
