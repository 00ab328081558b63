-- What a community's Redis counters of unit $4 (vocabulary.UsageUnit) for day $2 and month $3 start from: the durable mirror (the sum of its
-- shards). If they were loaded before on this day, Redis lost them, and the sends in flight (submitting:
-- reserved in the lost counter, not yet accepted, so not yet mirrored) are added, so a reload never lets the
-- same segments out twice. (On a first load no reservation can exist yet: reserving needs the counter.) The
-- ids and segments of those sends come back too: one that had not reserved yet takes its share out again
-- when it reserves (limits.RESERVE), so it is judged like any other and not counted twice.
-- Locks the community row: the caller sets the counters before its commit, so a concurrent load waits and
-- then finds them set. The loaded day is the community's, not the unit's: a unit's first load on a day that another
-- unit loaded already adds that unit's sends in flight, which have not reserved (reserving needs the counter) and
-- take their share out when they do; the count is never low, only briefly high. A send's unit is the one it
-- reserved in (messages.usage_unit, written before it reserves when it is not SMS). The row is locked by the UPDATE alone (its old value read with RETURNING old): locking it
-- first (FOR NO KEY UPDATE) and then updating it deadlocked two loads whenever a message insert held the row
-- FOR KEY SHARE (the foreign key) in between (tests/test_limits_races.py).
WITH mark AS (
    UPDATE communities SET counters_loaded_day = $2 WHERE id = $1 RETURNING old.counters_loaded_day AS loaded_day
), mirrored AS (
    SELECT coalesce(sum(segments) FILTER (WHERE period = 'day' AND period_start = $2), 0)::bigint AS day,
           coalesce(sum(segments) FILTER (WHERE period = 'month' AND period_start = $3), 0)::bigint AS month
    FROM usage_counters
    WHERE community_id = $1 AND unit = $4
      AND ((period = 'day' AND period_start = $2) OR (period = 'month' AND period_start = $3))
), in_flight AS MATERIALIZED (
    SELECT id, CASE WHEN usage_unit = 'sms_segment' THEN segments ELSE 1 END AS segments FROM messages
    -- waiting: messages_unsent finds them (its predicate names waiting, not status: migration 0037)
    WHERE community_id = $1 AND waiting = 'unsent' AND status = 'submitting' AND direction = 'outbound'
      AND kind <> 'keyword_reply'
      AND usage_unit = $4 AND EXISTS (SELECT 1 FROM mark WHERE loaded_day = $2)
)
SELECT m.day + f.segments AS day, m.month + f.segments AS month, f.ids, f.id_segments
FROM mirrored m, (SELECT coalesce(sum(segments), 0)::bigint AS segments, array_agg(id) AS ids,
                         array_agg(segments) AS id_segments FROM in_flight) f
