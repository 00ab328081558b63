-- list_messages.sql for one phone, sent by it or to it ($4): the two directions read apart, each in order from
-- its own index (messages_from_listed, messages_to_listed) and cut at the page size, then merged, so a phone
-- with millions of messages (one of our numbers) costs two short index scans, not a sort of all of them.
-- Parameters as list_messages.sql.
SELECT * FROM (
    (SELECT * FROM messages
     WHERE from_number = $4::text
       AND ($1::bigint[] IS NULL OR community_id = ANY($1::bigint[]))
       AND ($2::bigint IS NULL OR community_id = $2::bigint)
       AND ($3::bigint IS NULL OR conversation_id = $3::bigint)
       AND ($5::text IS NULL OR kind = $5::text)
       AND ($6::text IS NULL OR status = $6::text)
       AND ($7::timestamptz IS NULL OR created_at >= $7::timestamptz)
       AND ($8::timestamptz IS NULL OR created_at < $8::timestamptz)
       AND ($9::timestamptz IS NULL OR (created_at, id) < ($9::timestamptz, $10::bigint))
     ORDER BY created_at DESC, id DESC
     LIMIT $11)
    UNION ALL
    (SELECT * FROM messages
     WHERE to_number = $4::text AND from_number <> $4::text
       AND ($1::bigint[] IS NULL OR community_id = ANY($1::bigint[]))
       AND ($2::bigint IS NULL OR community_id = $2::bigint)
       AND ($3::bigint IS NULL OR conversation_id = $3::bigint)
       AND ($5::text IS NULL OR kind = $5::text)
       AND ($6::text IS NULL OR status = $6::text)
       AND ($7::timestamptz IS NULL OR created_at >= $7::timestamptz)
       AND ($8::timestamptz IS NULL OR created_at < $8::timestamptz)
       AND ($9::timestamptz IS NULL OR (created_at, id) < ($9::timestamptz, $10::bigint))
     ORDER BY created_at DESC, id DESC
     LIMIT $11)
) m
ORDER BY created_at DESC, id DESC
LIMIT $11
