-- Events (issue 12): a community's event_url (and optionally its event types), Standard Webhooks ids on the
-- deliveries, and the SQL that every change uses to store its events in its own statement.
ALTER TABLE communities
    ADD COLUMN event_url text,
    ADD COLUMN event_types text[];  -- null: every type

ALTER TABLE webhook_deliveries
    -- The Standard Webhooks webhook-id: one per delivery, the same on every try, so receivers can dedupe.
    ADD COLUMN webhook_id text NOT NULL DEFAULT 'evt_' || replace(gen_random_uuid()::text, '-', ''),
    -- Whose secret signs it: the community's own, or the gateway-wide one (hooks.event_url).
    ADD COLUMN target text NOT NULL DEFAULT 'community' CHECK (target IN ('community', 'gateway')),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
-- The delivery log: a community's deliveries, newest first.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (community_id, id DESC);

-- Where a community's event of a type goes: its event_url (when its filter takes the type), the older
-- opt_out_webhook_url (contact.preference_changed) and alert_webhook_url (community.*), and the gateway-wide
-- URL, which each gateway process sets on its connections (gateway.event_url, from hooks.event_url).
-- No row at all when the community has nowhere to send it: the statements that emit join this, so an event
-- costs a primary-key lookup and nothing more.
CREATE FUNCTION event_targets(community bigint, event_type text) RETURNS TABLE (url text, target text)
LANGUAGE sql STABLE AS $$
    SELECT DISTINCT t.url, 'community' FROM communities c,
        LATERAL (VALUES (c.event_url, c.event_types IS NULL OR event_type = ANY (c.event_types)),
                        (c.opt_out_webhook_url, event_type = 'contact.preference_changed'),
                        (c.alert_webhook_url, event_type LIKE 'community.%')) AS t (url, wanted)
    WHERE c.id = community AND t.url IS NOT NULL AND t.wanted
    UNION ALL
    SELECT current_setting('gateway.event_url', true), 'gateway'
    WHERE coalesce(current_setting('gateway.event_url', true), '') <> ''
$$;

-- An event's body, the Standard Webhooks shape: {"type", "timestamp" (ISO 8601, UTC), "data"}.
CREATE FUNCTION event_body(event_type text, data jsonb) RETURNS jsonb
LANGUAGE sql STABLE AS $$
    SELECT jsonb_build_object('type', event_type,
                              'timestamp', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                              'data', data)
$$;
