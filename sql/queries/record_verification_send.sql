WITH sent AS (
    INSERT INTO verification_sends (community_id, phone) VALUES ($1, $2)
)
UPDATE verifications SET message_id = $4 WHERE id = $3
