-- A write-through to Redis failed: the routing table in Redis is behind Postgres from now on.
-- An upsert, so the row is back even if the table was emptied.
INSERT INTO route_generation (id, generation) VALUES (true, 2)
ON CONFLICT (id) DO UPDATE SET generation = route_generation.generation + 1
RETURNING generation
