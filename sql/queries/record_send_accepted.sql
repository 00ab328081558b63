-- The carrier took message $1 as sid $2: record the sid, "accepted" (forward only) and its $5 segments (the
-- sender identification may have added one), add them to the community's local day $3 and month $4 (null
-- $3: not counted), and hand back, oldest first, the status callbacks that arrived for this sid before we
-- knew it, as arrays in one row (so that runs can be batched). One round trip on every send. The segments
-- go to one of the community's $7 counter shards (message id modulo $7: vocabulary.USAGE_SHARDS, which the
-- shard column's CHECK matches), so concurrent sends seldom share a row.
-- $8 is the unit it counts in (vocabulary.UsageUnit): an SMS adds its segments, an MMS or a WhatsApp message one.
-- $6 is the message's community, passed as well so that a batch can take its counter rows in order.
-- Recorded once: a send recorded already (accepted_at set; a retry after Postgres's reply was lost) changes
-- nothing. Found by id alone and checked after (see begin_send).
WITH target AS MATERIALIZED (
    SELECT id, accepted_at FROM messages WHERE id = $1 FOR UPDATE
), updated AS (
    UPDATE messages m
    SET carrier_sid = coalesce(m.carrier_sid, $2),
        status = CASE WHEN message_status_rank(m.status) < message_status_rank('accepted')
                           AND NOT message_status_is_final(m.status)
                      THEN 'accepted' ELSE m.status END,
        segments = $5,
        accepted_at = now(),
        updated_at = now()
    FROM target t
    WHERE m.id = t.id AND t.accepted_at IS NULL
    RETURNING m.id, m.community_id, m.status, m.conversation_id, m.to_number, m.carrier_sid, m.kind
), event AS (
    INSERT INTO message_events (message_id, status) SELECT id, 'accepted' FROM updated WHERE status = 'accepted'
), hooks AS (
    -- message.status_changed (accepted), only where the community has somewhere to send it.
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT u.community_id, t.url, t.target, 'message.status_changed', status_changed_event(
               u.community_id, u.conversation_id, u.id, u.kind, u.to_number, u.status, NULL, u.carrier_sid)
    FROM updated u, event_targets(u.community_id, 'message.status_changed') t
    WHERE u.status = 'accepted' AND u.community_id IS NOT NULL
), usage AS (
    INSERT INTO usage_counters (community_id, unit, period, period_start, shard, segments)
    SELECT u.community_id, $8::text, p.period, p.start, u.id % $7::int,
           CASE WHEN $8::text = 'sms_segment' THEN $5 ELSE 1 END FROM updated u,
           (VALUES ('day', $3::date), ('month', $4::date)) p(period, start)
    WHERE $3::date IS NOT NULL AND u.community_id = $6::bigint
    ON CONFLICT (community_id, unit, period, period_start, shard)
    DO UPDATE SET segments = usage_counters.segments + excluded.segments
), early AS (
    DELETE FROM early_statuses WHERE carrier_sid = $2 AND EXISTS (SELECT 1 FROM updated)
    RETURNING id, status, error_code, carrier
)
SELECT array(SELECT status FROM early ORDER BY id) AS early_statuses,
       array(SELECT error_code FROM early ORDER BY id) AS early_error_codes,
       array(SELECT carrier FROM early ORDER BY id) AS early_carriers
