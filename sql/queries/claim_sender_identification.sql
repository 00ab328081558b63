-- True exactly once per community and phone: for the first message sent to a phone that has never
-- messaged the community. That message carries the sender identification and opt-out language.
INSERT INTO contacts (community_id, phone, identified_at) VALUES ($1, $2, now())
ON CONFLICT (community_id, phone) DO UPDATE SET identified_at = now()
WHERE contacts.identified_at IS NULL AND contacts.first_inbound_at IS NULL
RETURNING true
