-- A community and a conversation as the API reads them, defined once: find_community.sql and
-- list_communities.sql, find_conversation.sql and list_conversations.sql select from these, so a column added
-- to a community or a conversation is added here (CREATE OR REPLACE VIEW may only add columns at the end).

-- A community with its settings, numbers (and, in the same order, each number's carrier: null for the gateway's
-- default), open conversations and compliance state.
CREATE VIEW community_rows AS
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
       (SELECT count(*) FROM conversations v WHERE v.community_id = c.id AND v.status = 'open') AS open_conversations
FROM communities c;

-- A conversation with both participants and their SMS preference (an opted-out party shows as such); the
-- participants' ids too, for the lists' phone filter.
CREATE VIEW conversation_rows AS
SELECT c.id, c.community_id, c.proxy_number, c.code, c.status, c.created_at, c.last_activity_at,
       c.closed_at, c.closed_reason,
       p.phone AS prospect_phone, p.name AS prospect_name, coalesce(pc.preference, 'unknown') AS prospect_preference,
       a.phone AS advocate_phone, a.name AS advocate_name, coalesce(ac.preference, 'unknown') AS advocate_preference,
       c.prospect_id, c.advocate_id
FROM conversations c
JOIN participants p ON p.id = c.prospect_id
JOIN participants a ON a.id = c.advocate_id
LEFT JOIN contacts pc ON pc.community_id = c.community_id AND pc.phone = p.phone
LEFT JOIN contacts ac ON ac.community_id = c.community_id AND ac.phone = a.phone;
