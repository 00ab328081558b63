-- Deleting messages with what hangs off them, in one place for every statement that deletes messages (retention's
-- row passes): their status history, stored pictures, finished platform callbacks and broadcast recipients; a
-- verification that sent one forgets it. Returns how many messages went. The caller picks only done messages.
CREATE FUNCTION forget_messages(ids bigint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    gone bigint;
BEGIN
    DELETE FROM message_events WHERE message_id = ANY (ids);
    DELETE FROM message_media WHERE message_id = ANY (ids);
    DELETE FROM platform_callbacks WHERE message_id = ANY (ids);
    DELETE FROM broadcast_recipients WHERE message_id = ANY (ids);
    UPDATE verifications SET message_id = NULL WHERE message_id = ANY (ids);
    DELETE FROM messages WHERE id = ANY (ids);
    GET DIAGNOSTICS gone = ROW_COUNT;
    RETURN gone;
END
$$;
