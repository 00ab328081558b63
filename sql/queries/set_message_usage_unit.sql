-- The unit a send is about to reserve in, when it is not SMS ($2: vocabulary.UsageUnit), so that a reload after a
-- Redis loss adds it to that unit's counters while it is in flight (load_usage_counters.sql).
UPDATE messages SET usage_unit = $2 WHERE id = $1 AND usage_unit <> $2
