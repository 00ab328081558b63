-- A phone ($2) is erased from community $1: the copies of it in what the gateway keeps for delivery go too:
-- events (sent or waiting) that name it, and the kept answers of idempotent requests that hold it ($3: the
-- callers whose keys may hold it, the tokens reaching the community). The phone is searched as text: an event's
-- payload and a kept answer are JSON. Returns the counts.
WITH events AS (
    DELETE FROM webhook_deliveries WHERE community_id = $1 AND strpos(payload::text, $2) > 0 RETURNING 1
), answers AS (
    DELETE FROM idempotency_keys WHERE caller = ANY($3::text[]) AND body IS NOT NULL
        AND position(convert_to($2, 'UTF8') IN body) > 0
    RETURNING 1
)
SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM answers) AS idempotent_answers
