-- The ids of these conversations that are still open (to prune the routing table).
SELECT id FROM conversations WHERE id = ANY($1::bigint[]) AND status = 'open'
