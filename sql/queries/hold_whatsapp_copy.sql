-- A text the carrier took, then failed as outside the recipient's WhatsApp window (Twilio posts 63016 in a status
-- callback): their window is closed until they write, and a copy of the text is held (whatsapp_window) for their
-- answer; the failed message keeps its final status. $1 the failed message. No row when it is not a text to a
-- WhatsApp participant (a template, or to one on SMS).
WITH failed AS (
    SELECT m.community_id, m.conversation_id, m.kind, m.priority, m.from_number, m.to_number, m.body
    FROM messages m
    JOIN whatsapp_contacts w ON w.proxy_number = m.from_number AND w.phone = m.to_number AND w.channel = 'whatsapp'
    WHERE m.id = $1 AND m.direction = 'outbound' AND m.kind <> 'whatsapp_template'
), closed AS (
    UPDATE whatsapp_contacts w SET window_closed_at = now(), updated_at = now()
    FROM failed f WHERE w.proxy_number = f.from_number AND w.phone = f.to_number
), copy AS (
    INSERT INTO messages (community_id, conversation_id, direction, kind, priority, from_number, to_number, body,
                          status, status_reason, segments)
    SELECT community_id, conversation_id, 'outbound', kind, priority, from_number, to_number, body,
           'held', 'whatsapp_window', 1
    FROM failed
    RETURNING id, community_id, conversation_id, kind, from_number, to_number
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'held' FROM copy
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT c.community_id, t.url, t.target, 'message.held', event_body('message.held', jsonb_build_object(
               'community_id', c.community_id, 'conversation_id', c.conversation_id, 'message_id', c.id,
               'kind', c.kind, 'to', c.to_number, 'status', 'held', 'reason', 'whatsapp_window'))
    FROM copy c, event_targets(c.community_id, 'message.held') t
    WHERE c.community_id IS NOT NULL
)
SELECT id, community_id, conversation_id, from_number, to_number FROM copy
