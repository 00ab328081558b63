-- Segments sent in a community's local day and month, from the durable mirror (the sum of its shards).
SELECT coalesce(sum(segments) FILTER (WHERE period = 'day' AND period_start = $2), 0)::bigint AS day,
       coalesce(sum(segments) FILTER (WHERE period = 'month' AND period_start = $3), 0)::bigint AS month
FROM usage_counters
WHERE community_id = $1 AND ((period = 'day' AND period_start = $2) OR (period = 'month' AND period_start = $3))
