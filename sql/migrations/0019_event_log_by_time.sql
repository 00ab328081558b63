-- The event delivery log pages as every list does, on (created_at, id) newest first (issue 12): this index
-- serves that order for one community. The log's older index on (community_id, id) stays: bulk replays walk a
-- community's deliveries in id order. IF NOT EXISTS: on a large database, build it first with
-- CREATE INDEX CONCURRENTLY under the same name (this migration runs in a transaction).
CREATE INDEX IF NOT EXISTS webhook_deliveries_listed ON webhook_deliveries (community_id, created_at, id);
