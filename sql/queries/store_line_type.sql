INSERT INTO line_types (phone, line_type, source, carrier_name) VALUES ($1, $2, $3, $4)
ON CONFLICT (phone) DO UPDATE
SET line_type = excluded.line_type, source = excluded.source, carrier_name = excluded.carrier_name,
    looked_up_at = now()
