-- A number leaves its community: its open conversations close with the reason $2, as close_conversation.sql closes
-- one (end_conversations, migration 0038: events, held copies canceled as conversation_closed); returns what the
-- routing table needs to drop their routes (each with its active participants).
SELECT c.id, c.proxy_number, c.code, c.shape, c.phones, c.names, c.roles
FROM end_conversations(ARRAY(SELECT id FROM conversations WHERE proxy_number = $1 AND status = 'open'), 'closed', $2) c
