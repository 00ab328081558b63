-- The once-a-day auto-reply only needs today's rows (and yesterday's, around midnight).
DELETE FROM auto_replies WHERE day < (now() AT TIME ZONE 'UTC')::date - 1
