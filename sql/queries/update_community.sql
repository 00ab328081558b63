-- PATCH: a null parameter leaves the setting as it is.
UPDATE communities
SET name = coalesce($2, name), mode = coalesce($3, mode), inactivity_days = coalesce($4, inactivity_days),
    countries = coalesce($5, countries), default_region = coalesce($6, default_region),
    require_verification = coalesce($7, require_verification),
    unknown_line_type = coalesce($8, unknown_line_type), updated_at = now()
WHERE id = $1
RETURNING id
