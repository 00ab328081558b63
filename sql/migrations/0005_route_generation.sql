-- The routing table's generation: bumped whenever a write-through to Redis failed after Postgres changed, so
-- a Redis table built at an older generation is known to be out of step and is rebuilt. One row.
CREATE TABLE route_generation (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    generation bigint NOT NULL
);
INSERT INTO route_generation (id, generation) VALUES (true, 1);
-- A reply's code is looked up among ended conversations too (only when it matches no open one).
CREATE INDEX conversations_number_code ON conversations (proxy_number, code);
