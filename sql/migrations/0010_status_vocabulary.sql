-- The statuses no carrier callback changes any more, named once (gateway/vocabulary.py FINAL_STATUSES; a test
-- compares the two). Inbound messages get a rank too, so every status in the vocabulary has one.
CREATE FUNCTION message_status_is_final(status text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT status IN ('undelivered', 'failed', 'canceled', 'blocked')
$$;

CREATE OR REPLACE FUNCTION message_status_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status
        WHEN 'queued' THEN 0
        WHEN 'held' THEN 0
        WHEN 'submitting' THEN 1
        WHEN 'accepted' THEN 2
        WHEN 'sending' THEN 3
        WHEN 'sent' THEN 4
        WHEN 'delivered' THEN 5
        WHEN 'read' THEN 6
        WHEN 'undelivered' THEN 5
        WHEN 'failed' THEN 5
        WHEN 'canceled' THEN 5
        WHEN 'blocked' THEN 5
        WHEN 'received' THEN 5
        ELSE -1
    END
$$;
