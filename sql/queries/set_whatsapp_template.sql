-- Set (or with null, remove) the community's re-engagement template; no row when there is no such community.
UPDATE communities SET whatsapp_template = $2 WHERE id = $1 RETURNING id
