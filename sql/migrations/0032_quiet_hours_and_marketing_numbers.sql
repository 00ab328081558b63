-- Issue 15 part Q: quiet hours in the recipient's time zone, and separate numbers (and opt-outs) for marketing.

-- A community's quiet-hours window, in the recipient's local time (README "Quiet hours"): marketing and bulk
-- texts go only between start and end; a US state's stricter rule narrows it, nothing widens it. Off: never held
-- (TCPA is US law; a community texting elsewhere may turn it off).
ALTER TABLE communities
    ADD COLUMN quiet_hours boolean NOT NULL DEFAULT true,
    ADD COLUMN quiet_hours_start time NOT NULL DEFAULT '08:00',
    ADD COLUMN quiet_hours_end time NOT NULL DEFAULT '21:00',
    ADD CONSTRAINT communities_quiet_hours_window CHECK (quiet_hours_start < quiet_hours_end);

-- A message held for quiet hours (status_reason 'quiet_hours') goes back to the queue at this instant, decided by
-- the gateway's clock (gateway/compliance/quiet_hours.py), never by Postgres's.
ALTER TABLE messages ADD COLUMN release_at timestamptz;
CREATE INDEX messages_quiet_hours_due ON messages (release_at)
    WHERE status = 'held' AND status_reason = 'quiet_hours';

-- Which preference a keyword changed: null the SMS preference, 'marketing' the marketing one (a keyword texted to
-- a marketing number of a community that keeps marketing apart).
ALTER TABLE preference_events ADD COLUMN category text CHECK (category IN ('transactional', 'marketing'));

-- Why a message of this kind and category (null: not a template send) must not be sent, or null when it may be.
-- A marketing send answers to the marketing preference where the community keeps marketing apart
-- (contact_preference_for); anything else to the SMS preference, as before.
CREATE FUNCTION outbound_block_reason(community bigint, phone text, kind text, category text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN kind = 'keyword_reply' THEN NULL
        WHEN c.mode = 'test' AND NOT EXISTS (
            SELECT 1 FROM allow_list a WHERE a.community_id = c.id AND a.phone = outbound_block_reason.phone)
        THEN 'not_on_allow_list'
        -- (CASE, not AND: a relay, category null, never asks community_separates_marketing.)
        WHEN CASE WHEN category IS DISTINCT FROM 'marketing' THEN ct.preference
                  WHEN community_separates_marketing(c.id) THEN ct.marketing_preference
                  ELSE ct.preference END = 'opted_out' THEN 'opted_out'
        WHEN ct.dnd IS NOT NULL THEN 'dnd'
    END
    FROM communities c
    LEFT JOIN contacts ct ON ct.community_id = c.id AND ct.phone = outbound_block_reason.phone
    WHERE c.id = community
$$;

-- The three-argument form (callers without a category) asks the four-argument one.
CREATE OR REPLACE FUNCTION outbound_block_reason(community bigint, phone text, kind text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT outbound_block_reason(community, phone, kind, NULL::text)
$$;

-- The view the API reads communities from: 0028's, with the quiet-hours settings.
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
       c.whatsapp_monthly_limit, c.quiet_hours, c.quiet_hours_start, c.quiet_hours_end
FROM communities c;
