-- Rename team $1 ($2; null keeps it) or change its style ($3; null keeps it): conversations opened after it get the
-- new style, running ones keep theirs.
UPDATE teams SET name = coalesce($2, name), style = coalesce($3, style), updated_at = now()
WHERE id = $1
RETURNING id
