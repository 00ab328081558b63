-- The stored pictures an outbound message ($1) carries, in the sender's order: those of the text it relays
-- (media_from), on the first of its recipient's parts only (a long text relayed in two parts sends them once).
SELECT mm.id, mm.content_type, mm.size
FROM messages o JOIN message_media mm ON mm.message_id = o.media_from AND mm.state = 'stored'
WHERE o.id = $1 AND NOT EXISTS (
    SELECT 1 FROM messages e WHERE e.media_from = o.media_from AND e.to_number = o.to_number AND e.id < o.id)
ORDER BY mm.position
