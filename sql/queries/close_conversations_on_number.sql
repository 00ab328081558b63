-- A number leaves its community: its open conversations close, with the reason $2; returns what the routing
-- table needs to drop their routes.
UPDATE conversations c SET status = 'closed', closed_at = now(), closed_reason = $2
FROM participants p, participants a
WHERE c.proxy_number = $1 AND c.status = 'open' AND p.id = c.prospect_id AND a.id = c.advocate_id
RETURNING c.id, c.proxy_number, c.code, p.phone AS prospect_phone, p.name AS prospect_name,
          a.phone AS advocate_phone, a.name AS advocate_name
