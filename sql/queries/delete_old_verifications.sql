-- Retention, rows: up to $2 verifications created more than $1 days ago, and the per-phone send records of that
-- age (the hourly limits read only the last hours), are deleted. Returns how many verifications.
WITH target AS (
    SELECT id FROM verifications WHERE created_at < now() - make_interval(days => $1) LIMIT $2
), sends AS (
    DELETE FROM verification_sends WHERE id IN (
        SELECT id FROM verification_sends WHERE sent_at < now() - make_interval(days => $1) LIMIT $2)
), gone AS (
    DELETE FROM verifications v USING target t WHERE v.id = t.id RETURNING v.id
)
SELECT count(*) FROM gone
