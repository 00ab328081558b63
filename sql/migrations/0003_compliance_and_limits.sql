-- Keywords and SMS preference, sender identification, segments, daily and monthly limits, DND,
-- error and opt-out rate monitoring, and signed webhooks to the community.

ALTER TABLE communities
    ADD COLUMN sender_name text,                 -- null: the community's name
    ADD COLUMN sender_id_template text NOT NULL DEFAULT '{sender name}: {message} Reply STOP to opt out.',
    ADD COLUMN help_text text,                   -- null: a default naming the community
    ADD COLUMN opt_out_webhook_url text,
    ADD COLUMN alert_webhook_url text,
    ADD COLUMN timezone text NOT NULL DEFAULT 'UTC',
    ADD COLUMN daily_limit_levels integer[],     -- null: the configured levels
    ADD COLUMN daily_limit_ceiling integer,      -- null: the configured ceiling
    ADD COLUMN daily_level integer NOT NULL DEFAULT 1 CHECK (daily_level >= 1),
    ADD COLUMN current_day date,                 -- the local day the daily counter is for; null until the first reset
    ADD COLUMN monthly_limit integer CHECK (monthly_limit >= 0),
    ADD COLUMN compliance_state text NOT NULL DEFAULT 'ok' CHECK (compliance_state IN ('ok', 'warning', 'restricted')),
    ADD COLUMN compliance_changed_at timestamptz,
    ADD COLUMN rates_since timestamptz,          -- monitoring looks back 24 hours, but not past a lifted restriction
    ADD COLUMN error_rate double precision,
    ADD COLUMN opt_out_rate double precision,
    ADD COLUMN rates_checked_at timestamptz;

-- A phone as the community knows it: its SMS preference and its do-not-disturb flag.
CREATE TABLE contacts (
    community_id          bigint NOT NULL REFERENCES communities (id),
    phone                 text NOT NULL,
    preference            text NOT NULL DEFAULT 'unknown' CHECK (preference IN ('unknown', 'opted_in', 'opted_out')),
    preference_changed_at timestamptz,
    preference_source     text,              -- the community number the keyword was sent to
    preference_keyword    text,
    first_inbound_at      timestamptz,       -- the phone has messaged the community
    identified_at         timestamptz,       -- we have sent it our sender identification
    dnd                   text CHECK (dnd IN ('permanent', 'temporary')),
    dnd_reason            text,
    dnd_at                timestamptz,
    PRIMARY KEY (community_id, phone)
);
CREATE INDEX contacts_preference ON contacts (community_id, preference);

-- Every change of preference, for the opt-out rate and the record.
CREATE TABLE preference_events (
    id            bigserial PRIMARY KEY,
    community_id  bigint NOT NULL REFERENCES communities (id),
    phone         text NOT NULL,
    preference    text NOT NULL,
    keyword       text,
    source_number text,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX preference_events_recent ON preference_events (community_id, created_at);

-- Segments sent per community and local day or month: the durable mirror of the Redis counters.
CREATE TABLE usage_counters (
    community_id bigint NOT NULL REFERENCES communities (id),
    period       text NOT NULL CHECK (period IN ('day', 'month')),
    period_start date NOT NULL,
    segments     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (community_id, period, period_start)
);

-- Signed JSON POSTs to a community's webhooks, retried with backoff until delivered or given up.
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    community_id    bigint NOT NULL REFERENCES communities (id),
    url             text NOT NULL,
    event           text NOT NULL,
    payload         jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

ALTER TABLE messages
    ADD COLUMN segments integer NOT NULL DEFAULT 1,
    ADD COLUMN limit_override boolean NOT NULL DEFAULT false;  -- released from the monthly review queue
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('inbound', 'relay', 'notification', 'auto_reply', 'help', 'verification', 'keyword_reply'));
-- "urgent" (verification codes and keyword confirmations) is claimed before relay and bulk traffic.
ALTER TABLE messages DROP CONSTRAINT messages_priority_check;
UPDATE messages SET priority = 'urgent' WHERE priority = 'verify';
ALTER TABLE messages ADD CONSTRAINT messages_priority_check CHECK (priority IN ('urgent', 'relay', 'bulk'));
CREATE INDEX messages_held ON messages (community_id, status_reason, id) WHERE status = 'held';
CREATE INDEX messages_recent_outbound ON messages (community_id, updated_at) WHERE direction = 'outbound';
CREATE INDEX messages_carrier_errors ON messages (to_number, updated_at) WHERE error_code IS NOT NULL;

-- held waits (for a reset, a release or a lifted restriction); it is not a carrier status.
CREATE OR REPLACE FUNCTION message_status_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status
        WHEN 'queued' THEN 0
        WHEN 'held' THEN 0
        WHEN 'submitting' THEN 1
        WHEN 'accepted' THEN 2
        WHEN 'sending' THEN 3
        WHEN 'sent' THEN 4
        WHEN 'delivered' THEN 5
        WHEN 'read' THEN 6
        WHEN 'undelivered' THEN 5
        WHEN 'failed' THEN 5
        WHEN 'canceled' THEN 5
        WHEN 'blocked' THEN 5
        ELSE -1
    END
$$;

-- Why a message of this kind from this community to this phone must not be sent, or null when it may be.
-- Keyword confirmations (STOP, START, HELP) always go: carriers require them.
DROP FUNCTION outbound_block_reason(bigint, text);
CREATE FUNCTION outbound_block_reason(community bigint, phone text, kind text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN kind = 'keyword_reply' THEN NULL
        WHEN c.mode = 'test' AND NOT EXISTS (
            SELECT 1 FROM allow_list a WHERE a.community_id = c.id AND a.phone = outbound_block_reason.phone)
        THEN 'not_on_allow_list'
        WHEN ct.preference = 'opted_out' THEN 'opted_out'
        WHEN ct.dnd IS NOT NULL THEN 'dnd'
    END
    FROM communities c
    LEFT JOIN contacts ct ON ct.community_id = c.id AND ct.phone = outbound_block_reason.phone
    WHERE c.id = community
$$;
