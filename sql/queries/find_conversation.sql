SELECT c.id, c.community_id, c.proxy_number, c.code, c.status, c.created_at, c.last_activity_at,
       c.closed_at, c.closed_reason,
       p.phone AS prospect_phone, p.name AS prospect_name,
       a.phone AS advocate_phone, a.name AS advocate_name
FROM conversations c
JOIN participants p ON p.id = c.prospect_id
JOIN participants a ON a.id = c.advocate_id
WHERE c.id = $1
