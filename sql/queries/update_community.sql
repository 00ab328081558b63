-- PATCH: a null parameter leaves the setting as it is.
UPDATE communities
SET name = coalesce($2, name), mode = coalesce($3, mode), inactivity_days = coalesce($4, inactivity_days),
    updated_at = now()
WHERE id = $1
RETURNING id
