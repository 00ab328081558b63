-- Issue 15 part B: broadcasts (an approved template sent to a list of phones or to a filter of contacts, now or
-- at a time) and their recipients, one row each, processed in pages by any gateway process (README "Broadcasts").

CREATE TABLE broadcasts (
    id           bigserial PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id),
    template_id  bigint NOT NULL REFERENCES templates (id),
    -- The template's at creation: a template edited later goes back to draft; the broadcast sends what was approved.
    category     text NOT NULL CHECK (category IN ('transactional', 'marketing')),
    body         text NOT NULL CHECK (body <> ''),  -- the template's approved body, as it was at creation
    audience     jsonb NOT NULL,             -- {"phones": n} or {"filter": {"preference": ..., "tag": ...}}
    data         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(data) = 'object'),  -- shared merge values
    send_at      timestamptz NOT NULL,
    state        text NOT NULL DEFAULT 'scheduled'
                 CHECK (state IN ('scheduled', 'running', 'completed', 'canceled')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz
);
CREATE INDEX broadcasts_community ON broadcasts (community_id, id);
CREATE INDEX broadcasts_due ON broadcasts (send_at) WHERE state = 'scheduled';
CREATE INDEX broadcasts_running ON broadcasts (id) WHERE state = 'running';

-- One row per recipient: pending until a process takes it (FOR UPDATE SKIP LOCKED), then skipped with a reason or
-- sent (its message stored in the same transaction). A phone that could not be read is kept as given (stripped).
CREATE TABLE broadcast_recipients (
    id           bigserial PRIMARY KEY,
    broadcast_id bigint NOT NULL REFERENCES broadcasts (id),
    phone        text NOT NULL,
    outcome      text NOT NULL DEFAULT 'pending' CHECK (outcome IN ('pending', 'skipped', 'sent')),
    skip_reason  text CHECK (skip_reason IN ('not_opted_in', 'opted_out', 'not_mobile', 'invalid_number',
                                             'country_not_supported', 'missing_fields', 'message_too_long', 'no_number',
                                             'canceled')),
    message_id   bigint REFERENCES messages (id),
    processed_at timestamptz,
    UNIQUE (broadcast_id, phone),
    CHECK ((outcome = 'skipped') = (skip_reason IS NOT NULL)),
    CHECK ((outcome = 'sent') = (message_id IS NOT NULL))
);
CREATE INDEX broadcast_recipients_pending ON broadcast_recipients (broadcast_id, id) WHERE outcome = 'pending';
CREATE INDEX broadcast_recipients_message ON broadcast_recipients (message_id) WHERE message_id IS NOT NULL;

-- The broadcast a message is one recipient's copy of: its outcomes are counted by status, and a cancel stops them.
ALTER TABLE messages ADD COLUMN broadcast_id bigint REFERENCES broadcasts (id);
CREATE INDEX messages_broadcast ON messages (broadcast_id, status) WHERE broadcast_id IS NOT NULL;
