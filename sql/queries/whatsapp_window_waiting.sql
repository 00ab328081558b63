-- The WhatsApp participants of community $1 with texts held for their closed window: one row per number and phone
-- (its oldest such text), for the template just set (none was when they were held: nothing asked them to write).
SELECT DISTINCT ON (from_number, to_number) id, community_id, conversation_id, from_number, to_number
FROM messages
WHERE community_id = $1 AND waiting = 'held' AND status_reason = 'whatsapp_window'
ORDER BY from_number, to_number, id
