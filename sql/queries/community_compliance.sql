-- Each community's compliance state and the rates last measured, for the per-community gauges: read at every
-- scrape, so each process reports the same (the rate monitor runs in one process at a time; a lift in any). Only
-- communities ever measured or not ok: the others have nothing to show.
SELECT id, compliance_state, coalesce(error_rate, 0) AS error_rate, coalesce(opt_out_rate, 0) AS opt_out_rate
FROM communities
WHERE rates_checked_at IS NOT NULL OR compliance_state <> 'ok'
ORDER BY id
