-- An operator lifts a temporary DND. Returns the DND it had (null when none), so the caller can tell
-- "not on DND" and "permanent" (which only START lifts) apart.
WITH old AS (SELECT dnd FROM contacts WHERE community_id = $1 AND phone = $2 FOR UPDATE)
UPDATE contacts SET dnd = NULL, dnd_reason = NULL, dnd_at = NULL
WHERE community_id = $1 AND phone = $2 AND dnd = 'temporary'
RETURNING (SELECT dnd FROM old) AS was
