-- The platform's say over inbound texts (issue 12): an intercept URL offered each text before it is relayed,
-- with a policy for when it does not answer usefully, and an out-of-session URL told of texts that belong to no
-- conversation (instead of the auto-reply).
ALTER TABLE communities
    ADD COLUMN intercept_url text,
    ADD COLUMN intercept_policy text NOT NULL DEFAULT 'relay' CHECK (intercept_policy IN ('relay', 'hold')),
    ADD COLUMN out_of_session_url text;

-- One row per inbound text to offer to the platform, stored in the statement that stores the text (durable
-- before the carrier's webhook is answered); claimed by any process for a lease (due_at), finished once
-- (outcome). part_ids: an intercepted text's relayed parts, stored held with reason 'intercepting'.
CREATE TABLE platform_callbacks (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL CHECK (kind IN ('intercept', 'out_of_session')),
    message_id      bigint NOT NULL REFERENCES messages (id),
    community_id    bigint NOT NULL REFERENCES communities (id),
    conversation_id bigint REFERENCES conversations (id),
    part_ids        bigint[] NOT NULL DEFAULT '{}',
    url             text NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    due_at          timestamptz NOT NULL DEFAULT now(),
    outcome         text CHECK (outcome IN ('relayed', 'rewritten', 'blocked', 'unanswered_relayed',
                                            'unanswered_held', 'not_opened', 'given_up')),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX platform_callbacks_due ON platform_callbacks (due_at) WHERE outcome IS NULL;
-- A conversation's texts are offered one at a time, in order: the claim looks for an earlier unfinished one.
CREATE INDEX platform_callbacks_open_intercepts ON platform_callbacks (conversation_id, id)
    WHERE outcome IS NULL AND kind = 'intercept';
