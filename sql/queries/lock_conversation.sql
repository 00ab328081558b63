-- Lock a conversation's row for the caller's transaction, so changes to its participants run one at a time (across
-- processes) and the routes written after them follow the order they committed in. Its community, for the names.
SELECT c.id, c.status, c.shape, c.community_id, m.name AS community_name, m.require_verification
FROM conversations c JOIN communities m ON m.id = c.community_id
WHERE c.id = $1
FOR NO KEY UPDATE OF c
