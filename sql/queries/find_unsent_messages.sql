-- Messages that should be in the Redis queue: queued ones, and ones whose send never answered.
-- waiting finds them through messages_unsent (migration 0037). $1 seconds a queued message may wait before
-- it is checked, $2 seconds for a send, $3 how many.
SELECT id, priority, from_number, segments
FROM messages
WHERE waiting = 'unsent'
  AND (status = 'queued' AND updated_at < now() - make_interval(secs => $1)
       OR status = 'submitting' AND updated_at < now() - make_interval(secs => $2))
ORDER BY updated_at
LIMIT $3
