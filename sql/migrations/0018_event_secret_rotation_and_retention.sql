-- Event delivery (issue 12, the rest): a community's event secret can be rotated, and finished event deliveries
-- and platform callbacks are deleted after hooks.retention_days.

-- The community's secret is derived from the gateway's key and this version (gateway/platform/events.py
-- secret_for; version 0 is the secret every community had before, so nothing changes until one rotates).
-- Nothing secret is stored: every process derives the same secret. event_secret_rotated_at: when the version
-- last went up; until hooks.secret_grace_hours after it, events are signed with the previous version's secret
-- too (Standard Webhooks: several signatures, space-separated).
ALTER TABLE communities
    ADD COLUMN event_secret_version integer NOT NULL DEFAULT 0 CHECK (event_secret_version >= 0),
    ADD COLUMN event_secret_rotated_at timestamptz;

-- Retention (delete_old_event_deliveries.sql, delete_finished_platform_callbacks.sql): the oldest finished rows
-- first, without reading the pending ones.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (updated_at) WHERE status <> 'pending';
CREATE INDEX platform_callbacks_finished ON platform_callbacks (finished_at) WHERE outcome IS NOT NULL;
