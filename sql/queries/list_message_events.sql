SELECT status, error_code, created_at FROM message_events WHERE message_id = $1 ORDER BY id
