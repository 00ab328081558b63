-- Close an open conversation (end_conversations, migration 0038: its conversation.closed event, its copies held for
-- their pictures or a WhatsApp participant's answer canceled as conversation_closed). Its id; none when it was not
-- open.
SELECT id FROM end_conversations(ARRAY[$1::bigint], 'closed', $2)
