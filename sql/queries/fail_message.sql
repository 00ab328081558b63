-- The carrier refused the message, or it ran out of tries: final. (By id alone, then checked: see begin_send.)
-- $4 false: the carrier never saw this try (a verification code that expired first), so it does not count:
-- attempts go back, as for a hold, and the rate monitor (which counts messages with attempts) leaves it out.
WITH target AS MATERIALIZED (
    SELECT id, status FROM messages WHERE id = $1 FOR UPDATE
), updated AS (
    UPDATE messages m SET status = 'failed', error_code = $2, error_message = $3, updated_at = now(),
        attempts = m.attempts - CASE WHEN $4::boolean OR t.status <> 'submitting' THEN 0 ELSE 1 END
    FROM target t
    WHERE m.id = t.id AND t.status IN ('queued', 'submitting')
    RETURNING m.id, m.community_id, m.conversation_id, m.to_number, m.carrier_sid, m.kind
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT u.community_id, t.url, t.target, 'message.status_changed', status_changed_event(
               u.community_id, u.conversation_id, u.id, u.kind, u.to_number, 'failed', $2::text, u.carrier_sid)
    FROM updated u, event_targets(u.community_id, 'message.status_changed') t
    WHERE u.community_id IS NOT NULL
)
INSERT INTO message_events (message_id, status, error_code) SELECT id, 'failed', $2 FROM updated
