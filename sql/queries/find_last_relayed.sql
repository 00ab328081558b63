-- Which of these conversations last relayed a message to the participant on this proxy number.
SELECT conversation_id
FROM messages
WHERE from_number = $1
  AND to_number = $2
  AND direction = 'outbound'
  AND conversation_id = ANY($3::bigint[])
ORDER BY id DESC
LIMIT 1
