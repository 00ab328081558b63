-- Each number of the community: open conversations on it, whether any of the participants $2 is in one there, and
-- its assignment (a dedicated number's member phone, a team, a category), which new conversations keep away from
-- unless asked.
SELECT n.phone,
       count(c.id) AS open,
       coalesce(bool_or(EXISTS (SELECT 1 FROM conversation_participants cp
                                WHERE cp.conversation_id = c.id AND cp.left_at IS NULL
                                  AND cp.participant_id = ANY($2::bigint[]))), false) AS busy,
       n.member_phone, n.team_id, n.category
FROM community_numbers n
LEFT JOIN conversations c ON c.proxy_number = n.phone AND c.status = 'open'
WHERE n.community_id = $1
GROUP BY n.phone
