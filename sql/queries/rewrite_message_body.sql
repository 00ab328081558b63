-- The body as it will be sent (with the sender identification), and its segments.
UPDATE messages SET body = $2, segments = $3 WHERE id = $1
