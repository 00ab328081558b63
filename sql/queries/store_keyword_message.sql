-- An inbound keyword (STOP, START, HELP...): stored, never relayed. Null id for a carrier retry.
-- $1 sender, $2 proxy number, $3 body, $4 media urls, $5 carrier sid, $6 community, $7 segments.
-- The sender has texted the community, whatever the keyword: it needs no sender identification from us (the README's
-- "Sender identification"). Before, only a keyword that changed the preference recorded it, so a phone whose first
-- text was HELP, or a second STOP, was identified on the community's next text to it.
WITH inbound AS (
    INSERT INTO messages (community_id, direction, kind, from_number, to_number, body, media_urls, carrier_sid,
                          status, segments)
    VALUES ($6, 'inbound', 'inbound', $1, $2, $3, $4, $5, 'received', $7)
    ON CONFLICT (carrier_sid) DO NOTHING
    RETURNING id, community_id
), contact AS (
    INSERT INTO contacts (community_id, phone, first_inbound_at)
    SELECT community_id, $1, now() FROM inbound WHERE community_id IS NOT NULL
    ON CONFLICT (community_id, phone) DO UPDATE SET first_inbound_at = now()
    WHERE contacts.first_inbound_at IS NULL
)
SELECT id FROM inbound
