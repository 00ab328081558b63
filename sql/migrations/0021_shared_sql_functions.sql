-- Shared by several statements. The body of a message.status_changed event, defined once for every statement that stores one (a carrier's
-- status, a failure, a cancel): {"type", "timestamp", "data"} with the data the README's events table lists.
CREATE FUNCTION status_changed_event(community_id bigint, conversation_id bigint, message_id bigint, kind text,
                                     recipient text, status text, error_code text, carrier_sid text) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT event_body('message.status_changed', jsonb_build_object(
        'community_id', $1, 'conversation_id', $2, 'message_id', $3, 'kind', $4, 'to', $5, 'status', $6,
        'error_code', $7, 'carrier_sid', $8))
$$;

-- A conversation's active participants, in the order they joined (a pair's prospect first), as three arrays
-- ('{}' when none): what the routing table needs of it, for every statement that rebuilds, expires or closes.
CREATE FUNCTION active_participants(conversation bigint) RETURNS TABLE (phones text[], names text[], roles text[])
LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(p.phone ORDER BY cp.seq), '{}'), coalesce(array_agg(p.name ORDER BY cp.seq), '{}'),
           coalesce(array_agg(cp.role ORDER BY cp.seq), '{}')
    FROM conversation_participants cp JOIN participants p ON p.id = cp.participant_id
    WHERE cp.conversation_id = $1 AND cp.left_at IS NULL
$$;
