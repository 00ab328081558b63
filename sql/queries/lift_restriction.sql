-- An operator lifts a restriction; rates are counted afresh from now, the texts it held among them however long
-- they were held (rates_held_from: when the oldest was created, read through the held messages' index by id).
UPDATE communities
SET compliance_state = 'ok', compliance_changed_at = now(), rates_since = now(),
    rates_held_from = (SELECT m.created_at FROM messages m
                       WHERE m.community_id = $1 AND m.waiting = 'held' AND m.status_reason = 'restricted'
                       ORDER BY m.id LIMIT 1)
WHERE id = $1 AND compliance_state = 'restricted'
RETURNING id
