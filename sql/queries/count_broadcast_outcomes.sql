-- A broadcast's recipients counted by outcome and skip reason, and those sent by their message's status and
-- reason: every recipient in exactly one row's count. $1 broadcast.
SELECT r.outcome, r.skip_reason, m.status, m.status_reason, count(*) AS count
FROM broadcast_recipients r
LEFT JOIN messages m ON m.id = r.message_id
WHERE r.broadcast_id = $1
GROUP BY r.outcome, r.skip_reason, m.status, m.status_reason
