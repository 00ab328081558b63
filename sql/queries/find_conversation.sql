-- A conversation with both participants and their SMS preference (an opted-out party shows as such).
SELECT c.id, c.community_id, c.proxy_number, c.code, c.status, c.created_at, c.last_activity_at,
       c.closed_at, c.closed_reason,
       p.phone AS prospect_phone, p.name AS prospect_name, coalesce(pc.preference, 'unknown') AS prospect_preference,
       a.phone AS advocate_phone, a.name AS advocate_name, coalesce(ac.preference, 'unknown') AS advocate_preference
FROM conversations c
JOIN participants p ON p.id = c.prospect_id
JOIN participants a ON a.id = c.advocate_id
LEFT JOIN contacts pc ON pc.community_id = c.community_id AND pc.phone = p.phone
LEFT JOIN contacts ac ON ac.community_id = c.community_id AND ac.phone = a.phone
WHERE c.id = $1
