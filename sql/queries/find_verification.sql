SELECT v.*, v.expires_at <= now() AS is_expired, m.status AS message_status, m.status_reason AS message_reason
FROM verifications v LEFT JOIN messages m ON m.id = v.message_id
WHERE v.id = $1
