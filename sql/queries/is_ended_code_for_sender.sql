-- Whether $3 is the code of a conversation of the sender's on this proxy number that has ended, or that the
-- sender has left (removed from a group, or STOP): either way it is over for the sender.
SELECT EXISTS (
    SELECT 1
    FROM conversations c
    JOIN conversation_participants cp ON cp.conversation_id = c.id
    JOIN participants p ON p.id = cp.participant_id
    WHERE c.proxy_number = $1
      AND c.code = $3
      AND (c.status <> 'open' OR cp.left_at IS NOT NULL)
      AND p.phone = $2
)
