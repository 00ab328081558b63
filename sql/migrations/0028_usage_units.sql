-- Limits per unit (issue 14): SMS segments, MMS messages and WhatsApp messages are priced apart, so they are
-- counted apart. A unit column in the usage mirror (not a table per unit): the shards, the reload and the reset
-- stay one mechanism, and a row written before this migration was an SMS count (the default).
ALTER TABLE usage_counters ADD COLUMN unit text NOT NULL DEFAULT 'sms_segment'
    CHECK (unit IN ('sms_segment', 'mms', 'whatsapp'));
ALTER TABLE usage_counters DROP CONSTRAINT usage_counters_pkey;
ALTER TABLE usage_counters ADD PRIMARY KEY (community_id, unit, period, period_start, shard);

-- The unit a send reserved in (written before it reserves, only when not SMS): a reload after a Redis loss adds
-- each send in flight to its own unit's counters (load_usage_counters.sql).
ALTER TABLE messages ADD COLUMN usage_unit text NOT NULL DEFAULT 'sms_segment'
    CHECK (usage_unit IN ('sms_segment', 'mms', 'whatsapp'));

-- Each community's own MMS and WhatsApp limits (messages); null: the gateway's (limits.* in the configuration).
ALTER TABLE communities ADD COLUMN mms_daily_limit integer CHECK (mms_daily_limit >= 0),
    ADD COLUMN mms_monthly_limit integer CHECK (mms_monthly_limit >= 0),
    ADD COLUMN whatsapp_daily_limit integer CHECK (whatsapp_daily_limit >= 0),
    ADD COLUMN whatsapp_monthly_limit integer CHECK (whatsapp_monthly_limit >= 0);

CREATE OR REPLACE VIEW community_rows AS
SELECT c.id, c.name, c.mode, c.inactivity_days, c.countries, c.default_region, c.require_verification,
       c.unknown_line_type, c.sender_name, c.sender_id_template, c.help_text, c.opt_out_webhook_url,
       c.alert_webhook_url, c.event_url, c.event_types, c.timezone, c.current_day, c.day_started_at,
       c.daily_limit_levels, c.daily_limit_ceiling, c.daily_level, c.monthly_limit, c.compliance_state,
       c.compliance_changed_at, c.error_rate, c.opt_out_rate, c.rates_checked_at, c.created_at, c.updated_at,
       c.intercept_url, c.intercept_policy, c.out_of_session_url,
       coalesce((SELECT array_agg(n.phone ORDER BY n.phone) FROM community_numbers n WHERE n.community_id = c.id),
                '{}') AS numbers,
       coalesce((SELECT array_agg(n.carrier ORDER BY n.phone) FROM community_numbers n WHERE n.community_id = c.id),
                '{}') AS number_carriers,
       (SELECT count(*) FROM conversations v WHERE v.community_id = c.id AND v.status = 'open') AS open_conversations,
       c.dedicated_numbers_shared, c.mms_daily_limit, c.mms_monthly_limit, c.whatsapp_daily_limit,
       c.whatsapp_monthly_limit
FROM communities c;
