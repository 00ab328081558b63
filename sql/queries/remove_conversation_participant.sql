-- The participant with phone $2 leaves conversation $1 (reason $3: removed, opted_out), if they are in it as a
-- member (a pair's people and a one_to_group's customer are not removed so), with the
-- conversation.participant_removed event where the community has somewhere to send it. No row: not a member.
-- What still waits to go to them in it (queued, or held: for the intercept, a limit, review) never will: canceled,
-- reason participant_left, so a text stored while they were in it does not reach them after they left.
WITH gone AS (
    UPDATE conversation_participants cp SET left_at = now(), left_reason = $3
    FROM participants p
    WHERE cp.conversation_id = $1 AND p.id = cp.participant_id AND p.phone = $2 AND cp.left_at IS NULL
      AND cp.role = 'member'
    RETURNING cp.conversation_id, cp.participant_id, p.phone
), unclaimed AS (
    -- The member who took a claim-style conversation left: the next member to reply takes it.
    UPDATE conversations c SET claimed_by = NULL FROM gone WHERE c.id = gone.conversation_id
                                                        AND c.claimed_by = gone.participant_id
), canceled AS (
    UPDATE messages m SET status = 'canceled', status_reason = 'participant_left', updated_at = now()
    FROM gone g
    WHERE m.conversation_id = g.conversation_id AND m.to_number = g.phone AND m.direction = 'outbound'
      AND m.status IN ('queued', 'held')
    RETURNING m.id
), canceled_event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'canceled' FROM canceled
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT c.community_id, t.url, t.target, 'conversation.participant_removed', event_body(
               'conversation.participant_removed', jsonb_build_object(
                   'community_id', c.community_id, 'conversation_id', c.id, 'phone', g.phone, 'reason', $3::text))
    FROM gone g JOIN conversations c ON c.id = g.conversation_id,
         event_targets(c.community_id, 'conversation.participant_removed') t
)
SELECT phone FROM gone
