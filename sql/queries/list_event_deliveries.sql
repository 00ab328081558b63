-- A community's event deliveries, newest first: $1 community, $2 only ids below this (the cursor; null: from
-- the newest), $3 status (null: any), $4 event type (null: any), $5 how many.
SELECT id, webhook_id, event, target, url, status, attempts, last_error, next_attempt_at, created_at, updated_at,
       payload::text AS payload
FROM webhook_deliveries
WHERE community_id = $1 AND ($2::bigint IS NULL OR id < $2) AND ($3::text IS NULL OR status = $3)
  AND ($4::text IS NULL OR event = $4)
ORDER BY id DESC
LIMIT $5
