-- Whether $3 is the code of a conversation of the sender's on this proxy number that has ended.
SELECT EXISTS (
    SELECT 1
    FROM conversations c
    JOIN participants p ON p.id = c.prospect_id
    JOIN participants a ON a.id = c.advocate_id
    WHERE c.proxy_number = $1
      AND c.code = $3
      AND c.status <> 'open'
      AND (p.phone = $2 OR a.phone = $2)
)
