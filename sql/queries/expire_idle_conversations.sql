-- Close, as expired, open conversations idle longer than their community allows; a batch at a time.
WITH idle AS (
    SELECT c.id FROM conversations c
    JOIN communities m ON m.id = c.community_id
    WHERE c.status = 'open' AND c.last_activity_at < now() - make_interval(days => m.inactivity_days)
    ORDER BY c.last_activity_at
    LIMIT $1
    FOR UPDATE OF c SKIP LOCKED
), expired AS (
    UPDATE conversations c SET status = 'expired', closed_at = now(), closed_reason = 'inactive'
    FROM idle, participants p, participants a
    WHERE c.id = idle.id AND p.id = c.prospect_id AND a.id = c.advocate_id
    RETURNING c.id, c.community_id, c.proxy_number, c.code, p.phone AS prospect_phone, p.name AS prospect_name,
              a.phone AS advocate_phone, a.name AS advocate_name
), hooks AS (
    -- conversation.expired, where the community has somewhere to send it.
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT e.community_id, t.url, t.target, 'conversation.expired', event_body('conversation.expired',
               jsonb_build_object('community_id', e.community_id, 'conversation_id', e.id, 'reason', 'inactive'))
    FROM expired e, event_targets(e.community_id, 'conversation.expired') t
)
SELECT id, proxy_number, code, prospect_phone, prospect_name, advocate_phone, advocate_name FROM expired
