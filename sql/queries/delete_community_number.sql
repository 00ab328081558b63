-- Take a number from its community ($1 the number, $2 the community); no row when it is not the community's.
-- The phones' WhatsApp channel, opt-in and window with it go too: they were given to this community (a community
-- the number goes to next records its own).
WITH number AS (
    DELETE FROM community_numbers WHERE phone = $1 AND community_id = $2 RETURNING phone
), whatsapp AS (
    DELETE FROM whatsapp_contacts WHERE proxy_number IN (SELECT phone FROM number)
)
SELECT phone FROM number
