-- An inbound keyword (STOP, START, HELP...): stored, never relayed. Null id for a carrier retry.
-- $1 sender, $2 proxy number, $3 body, $4 media urls, $5 carrier sid, $6 community, $7 segments.
INSERT INTO messages (community_id, direction, kind, from_number, to_number, body, media_urls, carrier_sid, status,
                      segments)
VALUES ($6, 'inbound', 'inbound', $1, $2, $3, $4, $5, 'received', $7)
ON CONFLICT (carrier_sid) DO NOTHING
RETURNING id
