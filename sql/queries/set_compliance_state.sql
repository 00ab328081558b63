-- $1 community, $2 state, $3 error rate, $4 opt-out rate, $5 the state the rates were measured in: no row when it
-- changed meanwhile (an operator lifted a restriction while the pass measured: its rates were from before the lift,
-- and would restrict again). Returns the state before. One UPDATE, its old value
-- read with RETURNING old: a CTE locking the row FOR NO KEY UPDATE before the UPDATE deadlocked against another
-- waiter whenever a message insert held the row FOR KEY SHARE (tests/test_row_locks.py).
UPDATE communities c
SET compliance_state = $2, error_rate = $3, opt_out_rate = $4, rates_checked_at = now(),
    compliance_changed_at = CASE WHEN c.compliance_state <> $2 THEN now() ELSE c.compliance_changed_at END
WHERE c.id = $1 AND c.compliance_state = $5
RETURNING old.compliance_state AS before, c.alert_webhook_url
