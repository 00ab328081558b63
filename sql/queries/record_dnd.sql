-- Put the recipient of a failed message on DND when enough failures with these codes came within $4 days.
-- $1 message, $2 error codes, $3 failures needed, $5 'permanent' or 'temporary', $6 the reason.
-- A permanent DND is never turned into a temporary one. Returns the DND set, if any.
WITH target AS (
    SELECT community_id, to_number FROM messages WHERE id = $1 AND community_id IS NOT NULL
), failures AS (
    SELECT count(*) AS n FROM messages m, target t
    WHERE m.to_number = t.to_number AND m.community_id = t.community_id AND m.error_code = ANY($2::text[])
      AND m.updated_at > now() - make_interval(days => $4)
), dnd AS (
    INSERT INTO contacts (community_id, phone, dnd, dnd_reason, dnd_at)
    SELECT t.community_id, t.to_number, $5, $6, now() FROM target t, failures f WHERE f.n >= $3
    ON CONFLICT (community_id, phone) DO UPDATE
    SET dnd = CASE WHEN contacts.dnd = 'permanent' THEN 'permanent' ELSE excluded.dnd END,
        dnd_reason = CASE WHEN contacts.dnd = 'permanent' THEN contacts.dnd_reason ELSE excluded.dnd_reason END,
        dnd_at = CASE WHEN contacts.dnd = 'permanent' THEN contacts.dnd_at ELSE now() END
    RETURNING community_id, phone, dnd, dnd_reason
), hooks AS (
    -- dnd.set (set or renewed), where the community has somewhere to send it.
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT d.community_id, t.url, t.target, 'dnd.set', event_body('dnd.set', jsonb_build_object(
               'community_id', d.community_id, 'phone', d.phone, 'dnd', d.dnd, 'reason', d.dnd_reason,
               'message_id', $1::bigint))
    FROM dnd d, event_targets(d.community_id, 'dnd.set') t
)
SELECT community_id, phone, dnd FROM dnd
