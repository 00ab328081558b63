-- The body of a message.status_changed event, defined once for every statement that stores one (a carrier's
-- status, a failure, a cancel): {"type", "timestamp", "data"} with the data the README's events table lists.
CREATE FUNCTION status_changed_event(community_id bigint, conversation_id bigint, message_id bigint, kind text,
                                     recipient text, status text, error_code text, carrier_sid text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT event_body('message.status_changed', jsonb_build_object(
        'community_id', $1, 'conversation_id', $2, 'message_id', $3, 'kind', $4, 'to', $5, 'status', $6,
        'error_code', $7, 'carrier_sid', $8))
$$;
