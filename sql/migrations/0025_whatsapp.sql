-- Issue 14 (WhatsApp): a phone on WhatsApp with one of our numbers, its 24-hour customer-service window and its
-- opt-in; the community's re-engagement template; a template message kind.

-- One row per (community number, phone) that talks WhatsApp with it. Absent, or channel 'sms': the phone gets SMS.
-- The window is WhatsApp's customer-service window: open for 24 hours after each inbound WhatsApp message
-- (last_inbound_at), unless the carrier said it closed (window_closed_at, e.g. Twilio's 63016, after it).
CREATE TABLE whatsapp_contacts (
    proxy_number     text NOT NULL,
    phone            text NOT NULL,
    channel          text NOT NULL CHECK (channel IN ('sms', 'whatsapp')),
    opted_in_at      timestamptz,            -- recorded as opted in through the API
    last_inbound_at  timestamptz,            -- their last WhatsApp message to this number (also an opt-in)
    window_closed_at timestamptz,            -- the carrier said the window was closed
    template_sent_at timestamptz,            -- the re-engagement template went out since their last message
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (proxy_number, phone)
);

-- Whether a WhatsApp window is open now (begin_send.sql, and the API's view of a contact).
CREATE FUNCTION whatsapp_window_open(last_inbound_at timestamptz, window_closed_at timestamptz) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(last_inbound_at > now() - interval '24 hours'
                    AND (window_closed_at IS NULL OR window_closed_at < last_inbound_at), false)
$$;

-- {"template_id": the carrier's id (Twilio: a Content SID), "variables": {"1": "..."}, "preview": what it says}
ALTER TABLE communities ADD COLUMN whatsapp_template jsonb;

ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('inbound', 'relay', 'notification', 'auto_reply', 'help', 'verification', 'keyword_reply',
                    'whatsapp_template')) NOT VALID;
ALTER TABLE messages VALIDATE CONSTRAINT messages_kind_check;

-- The texts waiting for a WhatsApp participant's answer, released when it comes (open_whatsapp_window.sql).
CREATE INDEX messages_whatsapp_held ON messages (from_number, to_number, id)
    WHERE status = 'held' AND status_reason IN ('whatsapp_window', 'whatsapp_opt_in');
