-- The carrier took message $1 as sid $2: record the sid and "accepted" (forward only), add its $5 segments
-- to the community's local day $3 and month $4 (null $3: not counted), and hand back, oldest first, the
-- status callbacks that arrived for this sid before we knew it. One round trip on every send.
WITH updated AS (
    UPDATE messages
    SET carrier_sid = coalesce(carrier_sid, $2),
        status = CASE WHEN message_status_rank(status) < message_status_rank('accepted')
                           AND status NOT IN ('undelivered', 'failed', 'canceled', 'blocked')
                      THEN 'accepted' ELSE status END,
        updated_at = now()
    WHERE id = $1
    RETURNING id, community_id, status
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'accepted' FROM updated WHERE status = 'accepted'
), usage AS (
    INSERT INTO usage_counters (community_id, period, period_start, segments)
    SELECT u.community_id, p.period, p.start, $5 FROM updated u,
           (VALUES ('day', $3::date), ('month', $4::date)) p(period, start)
    WHERE $3::date IS NOT NULL AND u.community_id IS NOT NULL
    ON CONFLICT (community_id, period, period_start)
    DO UPDATE SET segments = usage_counters.segments + excluded.segments
), early AS (
    DELETE FROM early_statuses WHERE carrier_sid = $2 RETURNING id, status, error_code
)
SELECT id, status, error_code FROM early ORDER BY id
