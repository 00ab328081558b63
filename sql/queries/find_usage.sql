-- What a community used in its local day and month, per unit (vocabulary.UsageUnit: SMS segments, MMS messages,
-- WhatsApp messages), from the durable mirror (the sum of its shards): one row per unit that has any.
SELECT unit,
       coalesce(sum(segments) FILTER (WHERE period = 'day' AND period_start = $2), 0)::bigint AS day,
       coalesce(sum(segments) FILTER (WHERE period = 'month' AND period_start = $3), 0)::bigint AS month
FROM usage_counters
WHERE community_id = $1 AND ((period = 'day' AND period_start = $2) OR (period = 'month' AND period_start = $3))
GROUP BY unit
