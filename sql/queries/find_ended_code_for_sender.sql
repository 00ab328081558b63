-- How $3, a code of one of the sender's conversations on this proxy number, is over for the sender ($2): 'left' when
-- the conversation still runs but the sender left it (removed from a group, or STOP), 'ended' when it is closed or
-- expired; null when no conversation of theirs here has that code or it is open with them in it. A code used again
-- on the number after an old conversation closed: the one the sender left while it runs says more, so it wins.
SELECT CASE WHEN bool_or(c.status = 'open') THEN 'left' WHEN count(*) > 0 THEN 'ended' END
FROM conversations c
JOIN conversation_participants cp ON cp.conversation_id = c.id
JOIN participants p ON p.id = cp.participant_id
WHERE c.proxy_number = $1
  AND c.code = $3
  AND (c.status <> 'open' OR cp.left_at IS NOT NULL)
  AND p.phone = $2
