-- The first member to reply takes a claim-style one_to_group conversation ($1) that nobody has taken: $2 is the
-- replying member's phone. Returns the phone of whoever has it now (this member when they took it); null when the
-- conversation is not open, not claim style, or the member is not in it, or when another member took it in a
-- transaction this statement's snapshot does not see yet (the caller asks again).
WITH me AS (
    SELECT cp.participant_id
    FROM conversation_participants cp JOIN participants p ON p.id = cp.participant_id
    WHERE cp.conversation_id = $1 AND p.phone = $2 AND cp.left_at IS NULL AND cp.role = 'member'
), took AS (
    UPDATE conversations SET claimed_by = (SELECT participant_id FROM me)
    WHERE id = $1 AND status = 'open' AND team_style = 'claim' AND claimed_by IS NULL AND EXISTS (SELECT 1 FROM me)
    RETURNING claimed_by
)
SELECT p.phone FROM participants p
WHERE p.id = coalesce((SELECT claimed_by FROM took),
                      (SELECT claimed_by FROM conversations WHERE id = $1 AND status = 'open'))
