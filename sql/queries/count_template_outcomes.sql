-- A template's messages counted by broadcast (null: triggered sends), status and reason. $1 template.
SELECT broadcast_id, status, status_reason, count(*) AS count
FROM messages
WHERE template_id = $1
GROUP BY broadcast_id, status, status_reason
