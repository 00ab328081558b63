-- $1 the number, $2 its community, $3 its carrier (null: the gateway's default carrier). WhatsApp channels, opt-ins
-- and windows recorded with the number before it was the community's (messages to it while nobody owned it) are
-- forgotten: they were given to nobody in it.
WITH stale AS (
    DELETE FROM whatsapp_contacts WHERE proxy_number = $1
)
INSERT INTO community_numbers (phone, community_id, carrier) VALUES ($1, $2, $3)
