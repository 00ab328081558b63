-- Rotate community $1's event secret: the next version, now; the previous one signs too for $2 seconds (one
-- previous version only: rotating again within the grace drops the oldest). No row: no such community.
UPDATE communities SET event_secret_version = event_secret_version + 1, event_secret_rotated_at = now()
WHERE id = $1
RETURNING event_secret_version AS version,
          CASE WHEN $2::float8 > 0 THEN now() + make_interval(secs => $2) END AS previous_valid_until
