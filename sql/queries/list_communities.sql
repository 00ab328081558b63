-- A page of communities, newest first (keyset on created_at, id; see find_community.sql for the columns).
-- $1 the ids a token reaches (null: all), $2 mode, $3 created at or after, $4 created before, $5 $6 the cursor
-- (created_at, id of the last row of the page before), $7 how many.
SELECT c.id, c.name, c.mode, c.inactivity_days, c.countries, c.default_region, c.require_verification,
       c.unknown_line_type, c.sender_name, c.sender_id_template, c.help_text, c.opt_out_webhook_url,
       c.alert_webhook_url, c.event_url, c.event_types, c.timezone, c.current_day, c.day_started_at, c.daily_limit_levels, c.daily_limit_ceiling, c.daily_level,
       c.monthly_limit, c.compliance_state, c.compliance_changed_at, c.error_rate, c.opt_out_rate,
       c.rates_checked_at, c.created_at, c.updated_at, c.intercept_url, c.intercept_policy, c.out_of_session_url,
       coalesce((SELECT array_agg(n.phone ORDER BY n.phone) FROM community_numbers n WHERE n.community_id = c.id),
                '{}') AS numbers,
       coalesce((SELECT array_agg(n.carrier ORDER BY n.phone) FROM community_numbers n WHERE n.community_id = c.id),
                '{}') AS number_carriers,
       (SELECT count(*) FROM conversations v WHERE v.community_id = c.id AND v.status = 'open') AS open_conversations
FROM communities c
WHERE ($1::bigint[] IS NULL OR c.id = ANY($1::bigint[]))
  AND ($2::text IS NULL OR c.mode = $2::text)
  AND ($3::timestamptz IS NULL OR c.created_at >= $3::timestamptz)
  AND ($4::timestamptz IS NULL OR c.created_at < $4::timestamptz)
  AND ($5::timestamptz IS NULL OR (c.created_at, c.id) < ($5::timestamptz, $6::bigint))
ORDER BY c.created_at DESC, c.id DESC
LIMIT $7
