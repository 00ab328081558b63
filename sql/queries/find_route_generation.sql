-- The generation the routing table in Redis must have been built at to be in step (1 when never bumped).
SELECT coalesce((SELECT generation FROM route_generation), 1)
