-- The usage mirror in shards: every send in a community added to the same two rows, so sends waited on each
-- other's row lock until commit. A send now adds to one of 16 rows (its message id modulo 16); readers sum.
ALTER TABLE usage_counters ADD COLUMN shard smallint NOT NULL DEFAULT 0 CHECK (shard BETWEEN 0 AND 15);
ALTER TABLE usage_counters DROP CONSTRAINT usage_counters_pkey;
ALTER TABLE usage_counters ADD PRIMARY KEY (community_id, period, period_start, shard);
