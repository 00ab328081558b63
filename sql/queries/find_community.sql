-- A community with its numbers and how many conversations are open.
SELECT c.id, c.name, c.mode, c.inactivity_days, c.countries, c.default_region, c.require_verification,
       c.unknown_line_type, c.created_at, c.updated_at,
       coalesce((SELECT array_agg(n.phone ORDER BY n.phone) FROM community_numbers n WHERE n.community_id = c.id),
                '{}') AS numbers,
       (SELECT count(*) FROM conversations v WHERE v.community_id = c.id AND v.status = 'open') AS open_conversations
FROM communities c
WHERE c.id = $1
