-- A message's attachments for the API and the media page: an inbound message's own, or those an outbound copy
-- carries (media_from). Without their bytes.
SELECT mm.id, mm.position, mm.state, mm.refusal, mm.content_type, mm.size, mm.sha256
FROM messages m JOIN message_media mm ON mm.message_id = coalesce(m.media_from, m.id)
WHERE m.id = $1
ORDER BY mm.position
