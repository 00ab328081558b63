-- Move an outbound message forward to a status, found by our id ($1) or else by carrier sid ($2).
-- Never backwards (a late "sent" leaves "delivered"), never out of a final status (message_status_is_final).
-- Records the carrier sid if the message has none yet (a callback that beat the send's reply).
-- $3 status, $4 error code. $5 the carrier whose callback this is (null: not checked, for callbacks it kept
-- itself), $6 the gateway's default carrier: a message whose number is on another carrier is left as it is
-- (on_carrier false), so no carrier moves another's messages. Returns no row when no such message exists.
-- Found by id alone and checked after, so a prepared plan always takes the primary key (see begin_send).
-- A forward move is a message.status_changed event where the community has somewhere to send it.
WITH target AS MATERIALIZED (
    SELECT s.id, s.direction,
           message_status_rank($3) > message_status_rank(s.status)
               AND NOT message_status_is_final(s.status) AS forward,
           $5::text IS NULL OR coalesce(
               (SELECT n.carrier FROM community_numbers n WHERE n.phone = s.from_number), $6::text) = $5::text
               AS on_carrier
    FROM messages s
    WHERE s.id = coalesce($1::bigint, (SELECT id FROM messages WHERE carrier_sid = $2::text))
    FOR UPDATE OF s
), updated AS (
    UPDATE messages m
    SET carrier_sid = coalesce(m.carrier_sid, $2::text),
        status = CASE WHEN t.forward THEN $3 ELSE m.status END,
        error_code = CASE WHEN t.forward THEN coalesce($4, m.error_code) ELSE m.error_code END,
        updated_at = now()
    FROM target t
    WHERE m.id = t.id AND t.direction = 'outbound' AND t.on_carrier
    RETURNING m.id, t.forward, m.status, m.community_id, m.conversation_id, m.to_number, m.carrier_sid, m.kind
), event AS (
    INSERT INTO message_events (message_id, status, error_code) SELECT id, $3, $4 FROM updated WHERE forward
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT u.community_id, t.url, t.target, 'message.status_changed', status_changed_event(
               u.community_id, u.conversation_id, u.id, u.kind, u.to_number, u.status, $4::text, u.carrier_sid)
    FROM updated u, event_targets(u.community_id, 'message.status_changed') t
    WHERE u.forward AND u.community_id IS NOT NULL
)
SELECT id, forward, status, true AS on_carrier FROM updated
UNION ALL
SELECT id, false, NULL, false FROM target WHERE direction = 'outbound' AND NOT on_carrier
