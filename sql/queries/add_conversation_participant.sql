-- Participant $2 joins conversation $1 with role $3 (or comes back, after leaving), with the
-- conversation.participant_added event where the community has somewhere to send it. No row: already in it.
WITH joined AS (
    INSERT INTO conversation_participants AS cp (conversation_id, participant_id, role)
    VALUES ($1, $2, $3)
    ON CONFLICT (conversation_id, participant_id) DO UPDATE
        SET left_at = NULL, left_reason = NULL, joined_at = now(), role = excluded.role
        WHERE cp.left_at IS NOT NULL
    RETURNING conversation_id, participant_id, role
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT c.community_id, t.url, t.target, 'conversation.participant_added', event_body(
               'conversation.participant_added', jsonb_build_object(
                   'community_id', c.community_id, 'conversation_id', c.id, 'phone', p.phone, 'name', p.name,
                   'role', j.role))
    FROM joined j JOIN conversations c ON c.id = j.conversation_id JOIN participants p ON p.id = j.participant_id,
         event_targets(c.community_id, 'conversation.participant_added') t
)
SELECT participant_id FROM joined
