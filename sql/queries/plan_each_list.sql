-- For the rest of this transaction, plan each statement for its parameters: a list's optional filters
-- ("$2 IS NULL OR community_id = $2") fold away only in a plan made for the values given; a generic plan of a
-- prepared statement would keep them all and could not pick the index the given filter needs.
SET LOCAL plan_cache_mode = force_custom_plan
