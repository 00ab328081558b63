-- A page of a community's event deliveries, newest first (keyset on created_at, id, as every list): $1 the
-- community, $2 whether the deliveries to the gateway-wide URL show too (not to a token limited to some
-- communities), $3 status (null: any), $4 event type (null: any), $5 created at or after, $6 created before,
-- $7 $8 the cursor (created_at, id of the last row of the page before), $9 how many.
SELECT id, webhook_id, event, target, url, status, attempts, last_error, next_attempt_at, created_at, updated_at,
       payload::text AS payload
FROM webhook_deliveries
WHERE community_id = $1::bigint AND ($2::boolean OR target = 'community')
  AND ($3::text IS NULL OR status = $3::text)
  AND ($4::text IS NULL OR event = $4::text)
  AND ($5::timestamptz IS NULL OR created_at >= $5::timestamptz)
  AND ($6::timestamptz IS NULL OR created_at < $6::timestamptz)
  AND ($7::timestamptz IS NULL OR (created_at, id) < ($7::timestamptz, $8::bigint))
ORDER BY created_at DESC, id DESC
LIMIT $9
