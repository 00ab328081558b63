-- What a number is assigned to, for a text from someone with no open conversation on it (gateway/relay/
-- assignment.py route_stranger): its community, a dedicated member, or a team with its style and members (in the
-- order added), and whether the community has an out-of-session URL. No row: the number is nobody's.
-- unreachable: those of the member and the team's members who take no text now (opted out, on DND, off the test
-- mode's allow list: outbound_block), so that a stranger's text does not open a conversation nobody gets.
SELECT n.community_id, n.member_phone, n.member_name, n.team_id, t.style AS team_style,
       coalesce(m.phones, '{}') AS team_phones, coalesce(m.names, '{}') AS team_names,
       c.out_of_session_url IS NOT NULL AS out_of_session,
       ARRAY(SELECT p.phone FROM unnest(array_append(coalesce(m.phones, '{}'), n.member_phone)) AS p (phone)
             WHERE p.phone IS NOT NULL
               AND (SELECT b.reason FROM outbound_block(n.community_id, p.phone, 'relay', NULL::text) b) IS NOT NULL)
           AS unreachable
FROM community_numbers n
JOIN communities c ON c.id = n.community_id
LEFT JOIN teams t ON t.id = n.team_id
LEFT JOIN LATERAL (SELECT array_agg(tm.phone ORDER BY tm.seq) AS phones, array_agg(tm.name ORDER BY tm.seq) AS names
                   FROM team_members tm WHERE tm.team_id = t.id) m ON true
WHERE n.phone = $1
