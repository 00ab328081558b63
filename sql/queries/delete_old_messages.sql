-- Retention, rows: the next $2 messages after the pass's mark, as far as they are older than $1 days, are deleted
-- with what hangs off them (forget_messages, migration 0036) when they are done (as redact_old_messages.sql). A
-- message still waiting stays, noted in retention_waiting (delete_waiting_messages.sql deletes it once done). The
-- run read is retention_run's (migration 0038); the mark moves past it. Returns how many were read and deleted.
WITH old AS (
    SELECT id FROM retention_run('rows', $1, $2) AS id
), doomed AS (
    SELECT m.id FROM messages m JOIN old o ON o.id = m.id
    WHERE m.status NOT IN ('queued', 'held', 'submitting')
      AND NOT EXISTS (SELECT 1 FROM platform_callbacks pc WHERE pc.message_id = m.id AND pc.outcome IS NULL)
), deleted AS (
    SELECT forget_messages(coalesce(array_agg(id), '{}')) AS count FROM doomed
), waiting AS (
    INSERT INTO retention_waiting (rule, message_id)
    SELECT 'rows', o.id FROM old o WHERE o.id NOT IN (SELECT id FROM doomed)
    ON CONFLICT DO NOTHING
), moved AS (
    INSERT INTO retention_marks (name, last_id) SELECT 'rows', max(id) FROM old HAVING count(*) > 0
    ON CONFLICT (name) DO UPDATE SET last_id = excluded.last_id
)
SELECT (SELECT count(*) FROM old) AS read, (SELECT count FROM deleted) AS changed
