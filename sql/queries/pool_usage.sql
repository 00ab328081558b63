-- Each number of the community: open conversations on it, and whether either participant has one there.
SELECT n.phone,
       count(c.id) AS open,
       coalesce(bool_or(c.prospect_id = ANY($2::bigint[]) OR c.advocate_id = ANY($2::bigint[])), false) AS busy
FROM community_numbers n
LEFT JOIN conversations c ON c.proxy_number = n.phone AND c.status = 'open'
WHERE n.community_id = $1
GROUP BY n.phone
