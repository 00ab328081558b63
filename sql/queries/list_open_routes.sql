-- Open conversations with both participants, a page at a time (keyset on id), to rebuild the routing table.
SELECT c.id, c.proxy_number, c.code,
       p.phone AS prospect_phone, p.name AS prospect_name,
       a.phone AS advocate_phone, a.name AS advocate_name
FROM conversations c
JOIN participants p ON p.id = c.prospect_id
JOIN participants a ON a.id = c.advocate_id
WHERE c.status = 'open' AND c.id > $1
ORDER BY c.id
LIMIT $2
