-- A canceled broadcast's recipients still pending are skipped (canceled). A page a process holds is waited for,
-- then left as that process marked it. $1 broadcast. Returns how many.
WITH skipped AS (
    UPDATE broadcast_recipients SET outcome = 'skipped', skip_reason = 'canceled', processed_at = now()
    WHERE broadcast_id = $1 AND outcome = 'pending'
    RETURNING id
)
SELECT count(*) FROM skipped
