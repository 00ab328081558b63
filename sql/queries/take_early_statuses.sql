-- The callbacks that arrived for this sid before we knew it, removed as they are handed over.
DELETE FROM early_statuses WHERE carrier_sid = $1 RETURNING id, status, error_code
