-- Callbacks that are due, taken for $2 seconds (longer than one try can take) so no other process takes them
-- meanwhile; each claim is a try. An intercept waits while an earlier text of its conversation is still being
-- offered, so the platform sees (and the recipient gets) a conversation's texts in order. $1 how many. With the
-- community's event secret version, and sign_previous while its last rotation is under $3 seconds old.
UPDATE platform_callbacks p SET due_at = now() + make_interval(secs => $2), attempts = p.attempts + 1
FROM communities c
WHERE c.id = p.community_id AND p.id IN (
    SELECT d.id FROM platform_callbacks d
    WHERE d.outcome IS NULL AND d.due_at <= now()
      AND NOT EXISTS (SELECT 1 FROM platform_callbacks e
                      WHERE e.kind = 'intercept' AND e.outcome IS NULL AND e.conversation_id = d.conversation_id
                        AND e.id < d.id)
    ORDER BY d.due_at, d.id LIMIT $1 FOR UPDATE OF d SKIP LOCKED
)
RETURNING p.id, p.kind, p.message_id, p.community_id, p.conversation_id, p.url, p.attempts, c.intercept_policy,
          c.event_secret_version AS secret_version,
          coalesce(c.event_secret_rotated_at + make_interval(secs => $3) > now(), false) AS sign_previous
