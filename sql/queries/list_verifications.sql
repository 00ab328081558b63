-- A page of verifications, newest first (keyset on created_at, id), as find_verification.sql shows one.
-- $1 the communities a token reaches (null: all), $2 community, $3 phone, $4 status as the API shows it (a
-- pending one past its expiry is expired), $5 created at or after, $6 created before, $7 $8 the cursor
-- (created_at, id of the last row of the page before), $9 how many.
SELECT v.*, v.expires_at <= now() AS is_expired, m.status AS message_status, m.status_reason AS message_reason
FROM verifications v LEFT JOIN messages m ON m.id = v.message_id
WHERE ($1::bigint[] IS NULL OR v.community_id = ANY($1::bigint[]))
  AND ($2::bigint IS NULL OR v.community_id = $2::bigint)
  AND ($3::text IS NULL OR v.phone = $3::text)
  AND ($4::text IS NULL OR CASE WHEN v.status = 'pending' AND v.expires_at <= now() THEN 'expired'
                                ELSE v.status END = $4::text)
  AND ($5::timestamptz IS NULL OR v.created_at >= $5::timestamptz)
  AND ($6::timestamptz IS NULL OR v.created_at < $6::timestamptz)
  AND ($7::timestamptz IS NULL OR (v.created_at, v.id) < ($7::timestamptz, $8::bigint))
ORDER BY v.created_at DESC, v.id DESC
LIMIT $9
