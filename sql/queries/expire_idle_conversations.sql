-- Close, as expired, open conversations idle longer than their community allows; a batch at a time, those another
-- process is expiring skipped. end_conversations (migration 0038) ends them: each a conversation.expired event, its
-- copies held for their pictures or a WhatsApp participant's answer canceled (conversation_expired). Returns each
-- with its active participants, for the routing table to drop their routes.
WITH idle AS (
    SELECT c.id FROM conversations c
    JOIN communities m ON m.id = c.community_id
    WHERE c.status = 'open' AND c.last_activity_at < now() - make_interval(days => m.inactivity_days)
      -- implied by the line above; the idle index reads only the day (migration 0043), so it bounds the scan
      AND c.active_day <= ((now() - make_interval(days => m.inactivity_days)) AT TIME ZONE 'UTC')::date
    ORDER BY c.active_day
    LIMIT $1
    FOR NO KEY UPDATE OF c SKIP LOCKED
)
SELECT e.id, e.proxy_number, e.code, e.shape, e.phones, e.names, e.roles
FROM end_conversations(ARRAY(SELECT id FROM idle), 'expired', 'inactive') e
