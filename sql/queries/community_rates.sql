-- Per community over the last 24 hours (but not before a lifted restriction): outbound messages created in that
-- time that reached the carrier, how many failed or were undelivered, distinct recipients, and opt-outs. By
-- created_at, not updated_at: an index on a column every status update changes costs each update (migration 0037).
-- After a lift, a message counts by when it reached the carrier (accepted_at; updated_at for one refused at once),
-- not when it was created: the texts the restriction held were created before the lift, and go out on it; while
-- the lift is less than 24 hours old, the window reaches back to the oldest of them (rates_held_from).
WITH span AS (
    SELECT id, compliance_state, rates_since,
           least(now() - interval '24 hours',
                 CASE WHEN rates_since > now() - interval '24 hours' THEN rates_held_from END) AS day,
           greatest(now() - interval '24 hours', coalesce(rates_since, '-infinity')) AS since
    FROM communities
)
SELECT s.id, s.compliance_state,
       count(*) AS sent,
       count(*) FILTER (WHERE m.status IN ('failed', 'undelivered')) AS errors,
       count(DISTINCT m.to_number) AS recipients,
       (SELECT count(*) FROM preference_events e
        WHERE e.community_id = s.id AND e.preference = 'opted_out' AND e.created_at > s.since
          AND e.keyword IS NOT NULL) AS opt_outs  -- the people's STOPs; not the platform's own records (API, import)
FROM span s
JOIN messages m ON m.community_id = s.id AND m.direction = 'outbound' AND m.attempts > 0 AND m.created_at >= s.day
    AND (s.rates_since IS NULL OR coalesce(m.accepted_at, m.updated_at) > s.rates_since)
GROUP BY s.id, s.compliance_state, s.since
