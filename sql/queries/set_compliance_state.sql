-- $1 community, $2 state, $3 error rate, $4 opt-out rate. Returns the state before (joined through the
-- locked row: updating a row a CTE locked without joining it silently skips the row).
WITH old AS (SELECT id, compliance_state FROM communities WHERE id = $1 FOR NO KEY UPDATE)
UPDATE communities c
SET compliance_state = $2, error_rate = $3, opt_out_rate = $4, rates_checked_at = now(),
    compliance_changed_at = CASE WHEN old.compliance_state <> $2 THEN now() ELSE c.compliance_changed_at END
FROM old
WHERE c.id = old.id
RETURNING old.compliance_state AS before, c.alert_webhook_url
