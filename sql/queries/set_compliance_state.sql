-- $1 community, $2 state, $3 error rate, $4 opt-out rate. Returns the state before.
WITH old AS (SELECT compliance_state FROM communities WHERE id = $1 FOR UPDATE)
UPDATE communities
SET compliance_state = $2, error_rate = $3, opt_out_rate = $4, rates_checked_at = now(),
    compliance_changed_at = CASE WHEN compliance_state <> $2 THEN now() ELSE compliance_changed_at END
WHERE id = $1
RETURNING (SELECT compliance_state FROM old) AS before, alert_webhook_url
