-- The carrier took message $1 as sid $2: record the sid, "accepted" (forward only) and its $5 segments (the
-- sender identification may have added one), add them to the community's local day $3 and month $4 (null
-- $3: not counted), and hand back, oldest first, the status callbacks that arrived for this sid before we
-- knew it, as arrays in one row (so that runs can be batched). One round trip on every send. The segments
-- go to one of the community's 16 counter shards (by message id), so concurrent sends seldom share a row.
-- $6 is the message's community, passed as well so that a batch can take its counter rows in order.
WITH updated AS (
    UPDATE messages
    SET carrier_sid = coalesce(carrier_sid, $2),
        status = CASE WHEN message_status_rank(status) < message_status_rank('accepted')
                           AND status NOT IN ('undelivered', 'failed', 'canceled', 'blocked')
                      THEN 'accepted' ELSE status END,
        segments = $5,
        updated_at = now()
    WHERE id = $1
    RETURNING id, community_id, status
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'accepted' FROM updated WHERE status = 'accepted'
), usage AS (
    INSERT INTO usage_counters (community_id, period, period_start, shard, segments)
    SELECT u.community_id, p.period, p.start, u.id % 16, $5 FROM updated u,
           (VALUES ('day', $3::date), ('month', $4::date)) p(period, start)
    WHERE $3::date IS NOT NULL AND u.community_id = $6::bigint
    ON CONFLICT (community_id, period, period_start, shard)
    DO UPDATE SET segments = usage_counters.segments + excluded.segments
), early AS (
    DELETE FROM early_statuses WHERE carrier_sid = $2 RETURNING id, status, error_code
)
SELECT array(SELECT status FROM early ORDER BY id) AS early_statuses,
       array(SELECT error_code FROM early ORDER BY id) AS early_error_codes
