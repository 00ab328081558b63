-- Pictures (MMS) the gateway keeps (issue 14): each attachment of an inbound message is a row here, stored with
-- the text (store_relayed_message.sql) as 'pending' and fetched from the carrier in the background by any
-- process (a lease: due_at moves past the fetch's time when it is claimed, so a process killed mid-fetch leaves
-- it to another once that passes). Then 'stored' (content and its SHA-256 kept here, in Postgres, so every
-- process can serve it), 'refused' (a type or size over the limits) or 'failed' (the carrier never gave it).
-- A platform's upload (POST /v1/media) is a row too, stored at once, of its community and no message until a
-- message it sends names it (then message_id is that message).
CREATE TABLE message_media (
    id             bigserial PRIMARY KEY,
    message_id     bigint REFERENCES messages (id),
    community_id   bigint REFERENCES communities (id),
    position       integer NOT NULL,
    source_url     text,  -- the carrier's URL; null once the carrier's copy is fetched (never logged)
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'stored', 'refused', 'failed',
                                                                     'deleted')),
    refusal        text CHECK (refusal IN ('type_not_allowed', 'too_large', 'message_too_large', 'fetch_failed')),
    attempts       integer NOT NULL DEFAULT 0,
    due_at         timestamptz NOT NULL DEFAULT now(),
    content_type   text,
    size           integer,
    sha256         text,
    content        bytea,
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    finished_at    timestamptz,
    UNIQUE (message_id, position),
    CHECK (message_id IS NOT NULL OR community_id IS NOT NULL)
);
CREATE INDEX message_media_due ON message_media (due_at) WHERE state = 'pending';
CREATE INDEX message_media_stored ON message_media (message_id) WHERE state = 'stored';

-- The inbound message whose media an outbound copy carries (its relayed copies, held awaiting_media until the
-- media is fetched or refused). Null for every other message: the partial index costs a plain text nothing.
ALTER TABLE messages ADD COLUMN media_from bigint;
CREATE INDEX messages_media_from ON messages (media_from) WHERE media_from IS NOT NULL;
