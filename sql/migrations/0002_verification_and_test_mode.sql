-- Number validation settings, line-type cache, one-time verification codes, test mode's allow list,
-- and blocked messages.

ALTER TABLE communities
    ADD COLUMN countries text[] NOT NULL DEFAULT '{US,CA}',
    ADD COLUMN default_region text NOT NULL DEFAULT 'US',
    ADD COLUMN require_verification boolean NOT NULL DEFAULT true,
    ADD COLUMN unknown_line_type text NOT NULL DEFAULT 'accept' CHECK (unknown_line_type IN ('accept', 'refuse'));

-- What a line-type lookup said of a number, reused for lookup.cache_days.
CREATE TABLE line_types (
    phone        text PRIMARY KEY,
    line_type    text NOT NULL,
    source       text NOT NULL,
    carrier_name text,
    looked_up_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE verifications (
    id           bigserial PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id),
    phone        text NOT NULL,
    code_hash    bytea NOT NULL,  -- HMAC of the code with the server's secret; never the code
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'approved', 'failed', 'expired')),
    attempts     integer NOT NULL DEFAULT 0,
    expires_at   timestamptz NOT NULL,
    message_id   bigint REFERENCES messages (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- At most one pending verification per phone and community: a resend replaces its code.
CREATE UNIQUE INDEX verifications_pending ON verifications (community_id, phone) WHERE status = 'pending';

-- Every code sent, for the per-phone and per-community hourly limits.
CREATE TABLE verification_sends (
    id           bigserial PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id),
    phone        text NOT NULL,
    sent_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX verification_sends_phone ON verification_sends (phone, sent_at);
CREATE INDEX verification_sends_community ON verification_sends (community_id, sent_at);

CREATE TABLE verified_phones (
    community_id bigint NOT NULL REFERENCES communities (id),
    phone        text NOT NULL,
    verified_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, phone)
);

CREATE TABLE allow_list (
    community_id bigint NOT NULL REFERENCES communities (id),
    phone        text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (community_id, phone)
);

ALTER TABLE messages ADD COLUMN status_reason text;
ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('inbound', 'relay', 'notification', 'auto_reply', 'help', 'verification'));
ALTER TABLE messages DROP CONSTRAINT messages_priority_check;
ALTER TABLE messages ADD CONSTRAINT messages_priority_check CHECK (priority IN ('verify', 'relay', 'bulk'));

-- blocked is final, like failed: such a message is never sent.
CREATE OR REPLACE FUNCTION message_status_rank(status text) RETURNS integer
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
        WHEN 'blocked' THEN 5
        ELSE -1
    END
$$;

-- Why a message from this community to this phone must not be sent, or null when it may be.
-- Every statement that creates an outbound message asks this, so the rule holds in every process.
CREATE FUNCTION outbound_block_reason(community bigint, phone text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN c.mode = 'test' AND NOT EXISTS (
            SELECT 1 FROM allow_list a WHERE a.community_id = c.id AND a.phone = outbound_block_reason.phone)
        THEN 'not_on_allow_list'
    END
    FROM communities c
    WHERE c.id = community
$$;
