-- Codes sent in the last hour to this phone (any community) and by this community, and when the oldest
-- of each window leaves it (seconds from now), for Retry-After.
SELECT
    count(*) FILTER (WHERE phone = $1) AS phone_sends,
    count(*) FILTER (WHERE community_id = $2) AS community_sends,
    ceil(extract(epoch FROM min(sent_at) FILTER (WHERE phone = $1) + interval '1 hour' - now())) AS phone_wait,
    ceil(extract(epoch FROM min(sent_at) FILTER (WHERE community_id = $2) + interval '1 hour' - now()))
        AS community_wait
FROM verification_sends
WHERE (phone = $1 OR community_id = $2) AND sent_at > now() - interval '1 hour'
