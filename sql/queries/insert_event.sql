-- Store an event of community $1, of type $2 with data $3, for each place it goes (none: nothing stored). For a
-- change made by several statements in one transaction (the compliance monitor's): run in that transaction.
INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
SELECT $1, t.url, t.target, $2, event_body($2, $3::jsonb) FROM event_targets($1, $2) t
