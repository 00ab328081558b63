-- Issue 14's leftovers: an inbound attachment is checked against the limits of the channel it came on (WhatsApp's
-- are not MMS's: gateway/media/fetching.py), so each row says which (store_relayed_message.sql sets it from the
-- carrier's word on the inbound message). Rows from before, and the platform's uploads, are 'sms'.
ALTER TABLE message_media ADD COLUMN channel text NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms', 'whatsapp'));
