-- Lists with cursors (issue 12), removable numbers, and Idempotency-Key answers.
--
-- Lists walk (created_at, id) newest first; each common filter has an index that serves both the filter and
-- that order, so no list scans a table. kind and status ride along as filters of those scans. IF NOT EXISTS: on
-- a large database, build these first by hand with CREATE INDEX CONCURRENTLY under the same names (this
-- migration runs in a transaction, which would block writes to messages while it builds them).
CREATE INDEX IF NOT EXISTS communities_listed ON communities (created_at, id);
CREATE INDEX IF NOT EXISTS conversations_listed ON conversations (created_at, id);
CREATE INDEX IF NOT EXISTS conversations_community_listed ON conversations (community_id, created_at, id);
CREATE INDEX IF NOT EXISTS conversations_prospect_listed ON conversations (prospect_id, created_at, id);
CREATE INDEX IF NOT EXISTS conversations_advocate_listed ON conversations (advocate_id, created_at, id);
CREATE INDEX IF NOT EXISTS participants_phone ON participants (phone);
CREATE INDEX IF NOT EXISTS messages_listed ON messages (created_at, id);
CREATE INDEX IF NOT EXISTS messages_community_listed ON messages (community_id, created_at, id);
CREATE INDEX IF NOT EXISTS messages_conversation_listed ON messages (conversation_id, created_at, id);
CREATE INDEX IF NOT EXISTS messages_from_listed ON messages (from_number, created_at, id);
CREATE INDEX IF NOT EXISTS messages_to_listed ON messages (to_number, created_at, id);
CREATE INDEX IF NOT EXISTS verifications_listed ON verifications (created_at, id);
CREATE INDEX IF NOT EXISTS verifications_community_listed ON verifications (community_id, created_at, id);
CREATE INDEX IF NOT EXISTS verifications_phone_listed ON verifications (phone, created_at, id);

-- A number can be taken from a community (DELETE /v1/communities/{id}/numbers/{phone}); its closed
-- conversations keep the number they used as history, so the reference to community_numbers goes (the number
-- may later belong to another community). Open conversations are closed before a number is removed.
ALTER TABLE conversations DROP CONSTRAINT IF EXISTS conversations_proxy_number_fkey;

-- The first answer to each Idempotency-Key, per API token (by its configured name). status and body are null
-- while the first request is in flight; lease_until says until when that claim holds (a process that crashed
-- mid-request leaves a claim a retry may take over after it). Kept until expires_at (24 hours by default).
CREATE TABLE idempotency_keys (
    caller       text NOT NULL,
    key          text NOT NULL,
    request_hash bytea NOT NULL,  -- SHA-256 of method, path, query and body
    status       integer,
    content_type text,
    body         bytea,
    lease_until  timestamptz NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (caller, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
