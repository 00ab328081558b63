-- A try without a useful answer: try again in $2 seconds; $3 what went wrong.
UPDATE platform_callbacks SET due_at = now() + make_interval(secs => $2), last_error = $3
WHERE id = $1 AND outcome IS NULL
