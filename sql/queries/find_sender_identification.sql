-- What begin_send.sql wraps a first text in, for the community that owns this number (no row: none).
-- $1 the proxy number.
SELECT c.sender_id_template, coalesce(c.sender_name, c.name) AS sender_name
FROM community_numbers n JOIN communities c ON c.id = n.community_id
WHERE n.phone = $1
