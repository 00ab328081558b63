-- Apply settings: $2 is a JSON object, and only the settings it names change (null clears a nullable one).
-- Values were validated by the API.
UPDATE communities SET
    name = CASE WHEN $2::jsonb ? 'name' THEN $2::jsonb->>'name' ELSE name END,
    mode = CASE WHEN $2::jsonb ? 'mode' THEN $2::jsonb->>'mode' ELSE mode END,
    inactivity_days = CASE WHEN $2::jsonb ? 'inactivity_days' THEN ($2::jsonb->>'inactivity_days')::int
                           ELSE inactivity_days END,
    countries = CASE WHEN $2::jsonb ? 'countries'
                     THEN ARRAY(SELECT jsonb_array_elements_text($2::jsonb->'countries')) ELSE countries END,
    default_region = CASE WHEN $2::jsonb ? 'default_region' THEN $2::jsonb->>'default_region' ELSE default_region END,
    require_verification = CASE WHEN $2::jsonb ? 'require_verification'
                                THEN ($2::jsonb->>'require_verification')::boolean ELSE require_verification END,
    unknown_line_type = CASE WHEN $2::jsonb ? 'unknown_line_type' THEN $2::jsonb->>'unknown_line_type'
                             ELSE unknown_line_type END,
    sender_name = CASE WHEN $2::jsonb ? 'sender_name' THEN $2::jsonb->>'sender_name' ELSE sender_name END,
    sender_id_template = CASE WHEN $2::jsonb ? 'sender_id_template' THEN $2::jsonb->>'sender_id_template'
                              ELSE sender_id_template END,
    help_text = CASE WHEN $2::jsonb ? 'help_text' THEN $2::jsonb->>'help_text' ELSE help_text END,
    opt_out_webhook_url = CASE WHEN $2::jsonb ? 'opt_out_webhook_url' THEN $2::jsonb->>'opt_out_webhook_url'
                               ELSE opt_out_webhook_url END,
    alert_webhook_url = CASE WHEN $2::jsonb ? 'alert_webhook_url' THEN $2::jsonb->>'alert_webhook_url'
                             ELSE alert_webhook_url END,
    intercept_url = CASE WHEN $2::jsonb ? 'intercept_url' THEN $2::jsonb->>'intercept_url' ELSE intercept_url END,
    intercept_policy = CASE WHEN $2::jsonb ? 'intercept_policy' THEN $2::jsonb->>'intercept_policy'
                            ELSE intercept_policy END,
    out_of_session_url = CASE WHEN $2::jsonb ? 'out_of_session_url' THEN $2::jsonb->>'out_of_session_url'
                              ELSE out_of_session_url END,
    event_url = CASE WHEN $2::jsonb ? 'event_url' THEN $2::jsonb->>'event_url' ELSE event_url END,
    event_types = CASE WHEN $2::jsonb ? 'event_types'
                       THEN (SELECT array_agg(value) FROM jsonb_array_elements_text(
                                 nullif($2::jsonb->'event_types', 'null'::jsonb)))
                       ELSE event_types END,
    timezone = CASE WHEN $2::jsonb ? 'timezone' THEN $2::jsonb->>'timezone' ELSE timezone END,
    daily_limit_levels = CASE WHEN $2::jsonb ? 'daily_limit_levels'
                              THEN (SELECT array_agg(value::int) FROM jsonb_array_elements_text(
                                        nullif($2::jsonb->'daily_limit_levels', 'null'::jsonb)))
                              ELSE daily_limit_levels END,
    daily_limit_ceiling = CASE WHEN $2::jsonb ? 'daily_limit_ceiling' THEN ($2::jsonb->>'daily_limit_ceiling')::int
                               ELSE daily_limit_ceiling END,
    monthly_limit = CASE WHEN $2::jsonb ? 'monthly_limit' THEN ($2::jsonb->>'monthly_limit')::int
                         ELSE monthly_limit END,
    mms_daily_limit = CASE WHEN $2::jsonb ? 'mms_daily_limit' THEN ($2::jsonb->>'mms_daily_limit')::int
        ELSE mms_daily_limit END,
    mms_monthly_limit = CASE WHEN $2::jsonb ? 'mms_monthly_limit' THEN ($2::jsonb->>'mms_monthly_limit')::int
        ELSE mms_monthly_limit END,
    whatsapp_daily_limit = CASE WHEN $2::jsonb ? 'whatsapp_daily_limit' THEN ($2::jsonb->>'whatsapp_daily_limit')::int
        ELSE whatsapp_daily_limit END,
    whatsapp_monthly_limit = CASE WHEN $2::jsonb ? 'whatsapp_monthly_limit' THEN ($2::jsonb->>'whatsapp_monthly_limit')::int
        ELSE whatsapp_monthly_limit END,
    dedicated_numbers_shared = CASE WHEN $2::jsonb ? 'dedicated_numbers_shared'
                                    THEN ($2::jsonb->>'dedicated_numbers_shared')::boolean
                                    ELSE dedicated_numbers_shared END,
    quiet_hours = CASE WHEN $2::jsonb ? 'quiet_hours' THEN ($2::jsonb->>'quiet_hours')::boolean ELSE quiet_hours END,
    quiet_hours_start = CASE WHEN $2::jsonb ? 'quiet_hours_start' THEN ($2::jsonb->>'quiet_hours_start')::time
                             ELSE quiet_hours_start END,
    quiet_hours_end = CASE WHEN $2::jsonb ? 'quiet_hours_end' THEN ($2::jsonb->>'quiet_hours_end')::time
                           ELSE quiet_hours_end END,
    -- A new community's first day is today, in its time zone, begun at that local midnight. A later change of
    -- time zone leaves the day as it is: the count follows it, and the next reset obeys reset_daily_limits.
    current_day = coalesce(current_day, (now() AT TIME ZONE coalesce($2::jsonb->>'timezone', timezone))::date),
    day_started_at = coalesce(day_started_at,
        (now() AT TIME ZONE coalesce($2::jsonb->>'timezone', timezone))::date::timestamp
            AT TIME ZONE coalesce($2::jsonb->>'timezone', timezone)),
    updated_at = now()
WHERE id = $1
RETURNING id
