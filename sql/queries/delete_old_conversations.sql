-- Retention, rows: up to $2 conversations that ended more than $1 days ago and have no message left are deleted
-- with their participants' places and platform callbacks, and the participants (phone and name) who are then in
-- no conversation. Returns how many conversations and participants.
WITH target AS (
    SELECT c.id FROM conversations c
    WHERE c.status <> 'open' AND c.closed_at < now() - make_interval(days => $1)
      AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = c.id)
    LIMIT $2
), places AS (
    DELETE FROM conversation_participants cp USING target t WHERE cp.conversation_id = t.id
    RETURNING cp.participant_id
), callbacks AS (
    DELETE FROM platform_callbacks pc USING target t WHERE pc.conversation_id = t.id
), gone AS (
    DELETE FROM conversations c USING target t WHERE c.id = t.id RETURNING c.id
), orphans AS (
    -- the statement's snapshot still shows the places deleted above: those of the target conversations don't count
    DELETE FROM participants p
    WHERE p.id IN (SELECT participant_id FROM places)
      AND NOT EXISTS (SELECT 1 FROM conversation_participants cp
                      WHERE cp.participant_id = p.id AND cp.conversation_id NOT IN (SELECT id FROM target))
    RETURNING p.id
)
SELECT (SELECT count(*) FROM gone) AS conversations, (SELECT count(*) FROM orphans) AS participants
