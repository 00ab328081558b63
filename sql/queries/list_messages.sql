-- A page of messages, newest first (keyset on created_at, id). $1 the communities a token reaches (null: all),
-- $2 community, $3 conversation, $4 a phone (sender or recipient), $5 kind, $6 status, $7 created at or after,
-- $8 created before, $9 $10 the cursor (created_at, id of the last row of the page before), $11 how many.
-- Each filter but kind and status has an index that also gives the order (migration 0016: messages_listed,
-- messages_community_listed, messages_conversation_listed); with a phone, list_messages_by_phone.sql runs instead.
SELECT * FROM messages
WHERE ($1::bigint[] IS NULL OR community_id = ANY($1::bigint[]))
  AND ($2::bigint IS NULL OR community_id = $2::bigint)
  AND ($3::bigint IS NULL OR conversation_id = $3::bigint)
  AND ($4::text IS NULL OR from_number = $4::text OR to_number = $4::text)
  AND ($5::text IS NULL OR kind = $5::text)
  AND ($6::text IS NULL OR status = $6::text)
  AND ($7::timestamptz IS NULL OR created_at >= $7::timestamptz)
  AND ($8::timestamptz IS NULL OR created_at < $8::timestamptz)
  AND ($9::timestamptz IS NULL OR (created_at, id) < ($9::timestamptz, $10::bigint))
ORDER BY created_at DESC, id DESC
LIMIT $11
