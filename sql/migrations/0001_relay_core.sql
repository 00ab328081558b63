-- Communities, their numbers, participants, conversations and messages: the relay core.

CREATE TABLE communities (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    mode            text NOT NULL DEFAULT 'test' CHECK (mode IN ('test', 'live')),
    inactivity_days integer NOT NULL DEFAULT 30 CHECK (inactivity_days BETWEEN 1 AND 3650),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- A number belongs to one community only: the primary key makes it unique across communities.
CREATE TABLE community_numbers (
    phone        text PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX community_numbers_community ON community_numbers (community_id);

CREATE TABLE participants (
    id           bigserial PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id),
    phone        text NOT NULL,
    name         text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, phone)
);

CREATE TABLE conversations (
    id               bigserial PRIMARY KEY,
    community_id     bigint NOT NULL REFERENCES communities (id),
    proxy_number     text NOT NULL REFERENCES community_numbers (phone),
    prospect_id      bigint NOT NULL REFERENCES participants (id),
    advocate_id      bigint NOT NULL REFERENCES participants (id),
    code             text NOT NULL,
    status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'expired')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    last_activity_at timestamptz NOT NULL DEFAULT now(),
    closed_at        timestamptz,
    closed_reason    text,
    CHECK (prospect_id <> advocate_id)
);
-- The code tells a participant's conversations on a shared number apart: unique among open ones.
CREATE UNIQUE INDEX conversations_open_code ON conversations (proxy_number, code) WHERE status = 'open';
-- One open conversation per pair and number: a second POST finds the first.
CREATE UNIQUE INDEX conversations_open_pair ON conversations (proxy_number, prospect_id, advocate_id) WHERE status = 'open';
CREATE INDEX conversations_open_idle ON conversations (last_activity_at) WHERE status = 'open';
CREATE INDEX conversations_prospect ON conversations (prospect_id) WHERE status = 'open';
CREATE INDEX conversations_advocate ON conversations (advocate_id) WHERE status = 'open';

-- Outbound status order: a status only moves to a higher rank. undelivered, failed and canceled
-- are final (the update query refuses to leave them); delivered may still become read.
CREATE FUNCTION message_status_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status
        WHEN 'queued' THEN 0
        WHEN 'submitting' THEN 1
        WHEN 'accepted' THEN 2
        WHEN 'sending' THEN 3
        WHEN 'sent' THEN 4
        WHEN 'delivered' THEN 5
        WHEN 'read' THEN 6
        WHEN 'undelivered' THEN 5
        WHEN 'failed' THEN 5
        WHEN 'canceled' THEN 5
        ELSE -1
    END
$$;

CREATE TABLE messages (
    id              bigserial PRIMARY KEY,
    community_id    bigint REFERENCES communities (id),
    conversation_id bigint REFERENCES conversations (id),
    direction       text NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    kind            text NOT NULL CHECK (kind IN ('inbound', 'relay', 'notification', 'auto_reply', 'help')),
    priority        text NOT NULL DEFAULT 'relay' CHECK (priority IN ('relay', 'bulk')),
    from_number     text NOT NULL,
    to_number       text NOT NULL,
    body            text NOT NULL,
    media_urls      text[] NOT NULL DEFAULT '{}',
    carrier_sid     text UNIQUE,
    status          text NOT NULL,
    error_code      text,
    error_message   text,
    attempts        integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_unsent ON messages (updated_at) WHERE status IN ('queued', 'submitting');
-- "Which conversation last relayed to this participant on this number?" when Redis cannot say.
CREATE INDEX messages_last_relayed ON messages (from_number, to_number, id DESC)
    WHERE direction = 'outbound' AND conversation_id IS NOT NULL;

CREATE TABLE message_events (
    id          bigserial PRIMARY KEY,
    message_id  bigint NOT NULL REFERENCES messages (id),
    status      text NOT NULL,
    error_code  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX message_events_message ON message_events (message_id, id);

-- Status callbacks for a carrier sid we have not recorded yet: applied when the sid is recorded.
CREATE TABLE early_statuses (
    id          bigserial PRIMARY KEY,
    carrier_sid text NOT NULL,
    status      text NOT NULL,
    error_code  text,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX early_statuses_sid ON early_statuses (carrier_sid);

-- The unrouted auto-reply goes out at most once per sender, number and day.
CREATE TABLE auto_replies (
    proxy_number text NOT NULL,
    sender       text NOT NULL,
    day          date NOT NULL,
    PRIMARY KEY (proxy_number, sender, day)
);
