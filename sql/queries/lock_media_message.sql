-- The inbound message whose attachment is being finished, locked: its attachments are finished one at a time,
-- so exactly one transaction sees the last one done (and releases the copies, and tells the sender). Returns the
-- bytes its attachments stored so far, for the message's limit, and whether its conversation is still open (once it
-- ended, its copies were canceled: the sender is told nothing of what was refused).
SELECT m.id, m.from_number, m.to_number, m.community_id, m.conversation_id,
       (SELECT coalesce(sum(size), 0) FROM message_media WHERE message_id = m.id AND state = 'stored') AS stored_bytes,
       coalesce(c.status = 'open', false) AS conversation_open
FROM messages m LEFT JOIN conversations c ON c.id = m.conversation_id
WHERE m.id = $1
FOR UPDATE OF m
