-- Status updates as heap-only tuples (issue 17). Postgres updates a row in place, touching no index, only when no
-- indexed column changed, and a column read by a partial index's WHERE counts as indexed. Every status callback
-- changes status and updated_at, so while any index named them, each "sent" and "delivered" wrote a new entry in
-- every one of the table's dozen indexes (https://www.postgresql.org/docs/current/storage-hot.html).
--
-- waiting is 'unsent' while the message is queued or with the carrier (submitting), 'held' while held, and null
-- after: the indexes of the waiting lists filter on it. It stays 'unsent' when a send begins (queued to submitting)
-- and null from "accepted" on, so beginning a send and the callbacks that follow change nothing indexed. Queries
-- that want those indexes filter on waiting as well as status.
-- Adding a stored generated column rewrites the table once, under a lock: on a large table, run it in a window.
-- Room on each page for the next versions of its rows (an update stays heap-only only on its own page); set first,
-- so that the rewrite below already leaves it.
ALTER TABLE messages SET (fillfactor = 80);
ALTER TABLE messages ADD COLUMN waiting text
    GENERATED ALWAYS AS (CASE WHEN status IN ('queued', 'submitting') THEN 'unsent'
                              WHEN status = 'held' THEN 'held' END) STORED;

-- The sweep's rows are few at any moment (waiting in Redis or with the carrier): it sorts them itself.
DROP INDEX messages_unsent;
CREATE INDEX messages_unsent ON messages (id) WHERE waiting = 'unsent';

DROP INDEX messages_held;
CREATE INDEX messages_held ON messages (community_id, status_reason, id) WHERE waiting = 'held';

DROP INDEX messages_carrier_not_served;
CREATE INDEX messages_carrier_not_served ON messages (id)
    WHERE waiting = 'held' AND status_reason = 'carrier_not_served';

DROP INDEX messages_whatsapp_held;
CREATE INDEX messages_whatsapp_held ON messages (from_number, to_number, id)
    WHERE waiting = 'held' AND status_reason IN ('whatsapp_window', 'whatsapp_opt_in');

DROP INDEX messages_quiet_hours_due;
CREATE INDEX messages_quiet_hours_due ON messages (release_at)
    WHERE waiting = 'held' AND status_reason = 'quiet_hours';

-- A cancel reads a broadcast's waiting copies; its outcomes are counted from its recipients.
DROP INDEX messages_broadcast;
CREATE INDEX messages_broadcast ON messages (broadcast_id, waiting) WHERE broadcast_id IS NOT NULL;

-- Rate monitoring counts the outbound messages created in its window (community_rates.sql), not those updated.
DROP INDEX messages_recent_outbound;
CREATE INDEX messages_recent_outbound ON messages (community_id, created_at) WHERE direction = 'outbound';

-- No query reads it any more (do-not-disturb keeps its own rows).
DROP INDEX messages_carrier_errors;
