-- forget_messages (migration 0036) deleted a message's events, then the message, each statement with a snapshot
-- of its own. A status callback that held the message's row and added an event meanwhile (a carrier's late
-- "delivered" for a message retention found done) committed between the two: the message could not be deleted
-- (its new event still referenced it) and the retention batch failed. Now the messages are locked first, in id
-- order: a callback in progress is waited for and its event deleted with the others; one that comes after waits,
-- then finds no message. tests/test_retention.py has the race.
CREATE OR REPLACE FUNCTION forget_messages(ids bigint[]) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    gone bigint;
BEGIN
    PERFORM 1 FROM messages WHERE id = ANY (ids) ORDER BY id FOR UPDATE;
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
