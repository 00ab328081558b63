-- Retention, rows: up to $1 messages the walk passed while they waited (retention_waiting, rule 'rows'; they were old
-- enough then) are deleted once done, as delete_old_messages.sql does (forget_messages, migration 0036); one still
-- waiting stays noted, one gone is forgotten. Returns how many were looked at and deleted.
WITH due AS (
    SELECT w.message_id FROM retention_waiting w LEFT JOIN messages m ON m.id = w.message_id
    WHERE w.rule = 'rows' AND (m.id IS NULL OR (m.status NOT IN ('queued', 'held', 'submitting') AND NOT EXISTS (
        SELECT 1 FROM platform_callbacks pc WHERE pc.message_id = m.id AND pc.outcome IS NULL)))
    ORDER BY w.message_id
    LIMIT $1
), doomed AS (
    SELECT m.id FROM messages m JOIN due d ON d.message_id = m.id
), deleted AS (
    SELECT forget_messages(coalesce(array_agg(id), '{}')) AS count FROM doomed
), forgotten AS (
    DELETE FROM retention_waiting w USING due d WHERE w.rule = 'rows' AND w.message_id = d.message_id
)
SELECT (SELECT count(*) FROM due) AS read, (SELECT count FROM deleted) AS changed
