-- A template's messages counted by kind (triggered, broadcast, template_test), broadcast (null but for a broadcast's),
-- status and reason. $1 template.
SELECT kind, broadcast_id, status, status_reason, count(*) AS count
FROM messages
WHERE template_id = $1
GROUP BY kind, broadcast_id, status, status_reason
