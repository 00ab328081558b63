-- Claim a queued message for sending. "submitting" again means an earlier try's lease ran out without
-- an answer: the message is sent again (the one window for a duplicate; see README). Nothing for any
-- other status: it was sent, failed, blocked or canceled meanwhile.
UPDATE messages
SET status = 'submitting', attempts = attempts + 1, updated_at = now()
WHERE id = $1 AND direction = 'outbound' AND status IN ('queued', 'submitting')
RETURNING id, community_id, conversation_id, kind, from_number, to_number, body, attempts
