-- How many open conversations a participant has on a number (codes are shown when it is more than one).
SELECT count(*) FROM conversations c
JOIN participants p ON p.id = c.prospect_id
JOIN participants a ON a.id = c.advocate_id
WHERE c.proxy_number = $1 AND c.status = 'open' AND (p.phone = $2 OR a.phone = $2)
