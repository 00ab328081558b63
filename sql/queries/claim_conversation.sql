-- The first member to reply takes a claim-style one_to_group conversation ($1) that nobody has taken: $2 is the
-- replying member's phone (by SMS, or written as them through the API). Returns the phone of whoever has it now
-- (this member when they took it); null when the conversation is not open, not claim style, or the member is not in
-- it, or when another member took it in a transaction this statement's snapshot does not see yet (the caller asks
-- again). Taking it is a conversation.claimed event, stored here with it, where the community has somewhere to send
-- it.
WITH me AS (
    SELECT cp.participant_id, p.name
    FROM conversation_participants cp JOIN participants p ON p.id = cp.participant_id
    WHERE cp.conversation_id = $1 AND p.phone = $2 AND cp.left_at IS NULL AND cp.role = 'member'
), took AS (
    UPDATE conversations SET claimed_by = (SELECT participant_id FROM me)
    WHERE id = $1 AND status = 'open' AND team_style = 'claim' AND claimed_by IS NULL AND EXISTS (SELECT 1 FROM me)
    RETURNING id, community_id, claimed_by
), hooks AS (
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT took.community_id, t.url, t.target, 'conversation.claimed', event_body(
               'conversation.claimed', jsonb_build_object(
                   'community_id', took.community_id, 'conversation_id', took.id, 'phone', $2::text,
                   'name', (SELECT name FROM me)))
    FROM took, event_targets(took.community_id, 'conversation.claimed') t
)
SELECT p.phone FROM participants p
WHERE p.id = coalesce((SELECT claimed_by FROM took),
                      (SELECT claimed_by FROM conversations WHERE id = $1 AND status = 'open'))
