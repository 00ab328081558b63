-- A marketing or bulk text outside its recipient's quiet-hours window at send time (gateway/compliance/
-- quiet_hours.py): held quiet_hours until $2, the instant the window opens (messages.release_at); that try does
-- not count. $3 is the body before begin_send added the sender identification just now (null: it added none): the
-- identification goes back, from the body and from the contact, so the first text that reaches the phone carries
-- it (a relay at 6 am, say), and a held text canceled later never used it up. The UPDATE locks the row (no lock
-- taken before it: tests/test_row_locks.py).
WITH held AS (
    UPDATE messages m
    SET status = 'held', status_reason = 'quiet_hours', release_at = $2, attempts = m.attempts - 1,
        body = coalesce($3::text, m.body), updated_at = now()
    WHERE m.id = $1 AND m.status = 'submitting'
    RETURNING m.id, m.community_id, m.conversation_id, m.to_number, m.kind
), unidentified AS (
    UPDATE contacts c SET identified_at = NULL
    FROM held h
    WHERE $3::text IS NOT NULL AND c.community_id = h.community_id AND c.phone = h.to_number
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT h.community_id, t.url, t.target, 'message.held', event_body('message.held', jsonb_build_object(
               'community_id', h.community_id, 'conversation_id', h.conversation_id, 'message_id', h.id,
               'kind', h.kind, 'to', h.to_number, 'status', 'held', 'reason', 'quiet_hours'))
    FROM held h, event_targets(h.community_id, 'message.held') t
    WHERE h.community_id IS NOT NULL
)
INSERT INTO message_events (message_id, status) SELECT id, 'held' FROM held
