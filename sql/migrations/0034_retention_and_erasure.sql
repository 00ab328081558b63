-- Retention and erasure (issue 16): bodies blanked and old rows removed by age (gateway/ops/retention.py), and
-- everything about one phone in a community erased on request (gateway/platform/erasure.py), with an audit row.

-- When a message's body, pictures and (for an erasure) the erased phone were removed; its row, status and counts
-- stay. The retention pass skips messages already redacted.
ALTER TABLE messages ADD COLUMN redacted_at timestamptz;
-- The retention pass finds old messages by age: a BRIN index is a few pages for the whole table (messages are
-- appended in time order) and costs nothing on the send path.
CREATE INDEX messages_created_brin ON messages USING brin (created_at);
CREATE INDEX conversations_closed_brin ON conversations USING brin (closed_at);
CREATE INDEX verifications_created_brin ON verifications USING brin (created_at);

-- One erasure: what was removed, by whom, when; never the phone itself. phone_hash is an HMAC of the community and
-- the phone under a key derived from hooks.secret, so "was this phone erased?" can be answered for someone who
-- gives the phone again (GET /v1/communities/{id}/erasures?phone=), and the table reveals nothing by itself.
CREATE TABLE erasures (
    id           bigserial PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id),
    phone_hash   bytea NOT NULL,
    requested_by text NOT NULL,
    counts       jsonb NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erasures_community ON erasures (community_id, id);
CREATE INDEX erasures_phone ON erasures (community_id, phone_hash);

-- How far each retention pass has come through the messages, by id (gateway/compliance/retention.py): a pass reads
-- the next ids after its mark, so it never reads again what it has passed, however large the table.
CREATE TABLE retention_marks (
    name    text PRIMARY KEY,           -- 'bodies' or 'rows'
    last_id bigint NOT NULL
);
