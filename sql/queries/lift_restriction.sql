-- An operator lifts a restriction; rates are counted afresh from now.
UPDATE communities
SET compliance_state = 'ok', compliance_changed_at = now(), rates_since = now()
WHERE id = $1 AND compliance_state = 'restricted'
RETURNING id
