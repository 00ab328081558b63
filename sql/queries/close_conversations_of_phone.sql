-- A phone is erased from its community: the open conversations it takes part in (as any participant, left or
-- not) close with the reason $3, as close_conversation.sql closes one (end_conversations, migration 0038: events,
-- held copies canceled as conversation_closed); returns what the routing table needs to drop their routes.
SELECT c.id, c.proxy_number, c.code, c.shape, c.phones, c.names, c.roles
FROM end_conversations(ARRAY(
    SELECT DISTINCT cp.conversation_id
    FROM participants p JOIN conversation_participants cp ON cp.participant_id = p.id
    WHERE p.community_id = $1 AND p.phone = $2
), 'closed', $3) c
