-- Segments sent in a community's local day and month, from the durable mirror.
SELECT coalesce((SELECT segments FROM usage_counters WHERE community_id = $1 AND period = 'day' AND period_start = $2), 0)
           AS day,
       coalesce((SELECT segments FROM usage_counters WHERE community_id = $1 AND period = 'month' AND period_start = $3), 0)
           AS month
