-- Whether a carrier sid ($1) is taken, and by which direction: 'inbound', 'outbound', or no row.
SELECT direction FROM messages WHERE carrier_sid = $1
