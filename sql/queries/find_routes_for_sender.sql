-- The open conversations a sender has on a proxy number, seen from the sender's side.
SELECT c.id AS conversation_id,
       c.code,
       CASE WHEN p.phone = $2 THEN a.phone ELSE p.phone END AS recipient,
       CASE WHEN p.phone = $2 THEN a.name ELSE p.name END AS recipient_name,
       CASE WHEN p.phone = $2 THEN p.name ELSE a.name END AS sender_name
FROM conversations c
JOIN participants p ON p.id = c.prospect_id
JOIN participants a ON a.id = c.advocate_id
WHERE c.proxy_number = $1
  AND c.status = 'open'
  AND (p.phone = $2 OR a.phone = $2)
