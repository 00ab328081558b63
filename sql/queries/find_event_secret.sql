-- Community $1's event secret version, and until when the previous version signs too (null: it does not), with
-- a grace of $2 seconds after a rotation. No row: no such community.
SELECT event_secret_version AS version,
       CASE WHEN event_secret_rotated_at + make_interval(secs => $2) > now()
            THEN event_secret_rotated_at + make_interval(secs => $2) END AS previous_valid_until
FROM communities WHERE id = $1
