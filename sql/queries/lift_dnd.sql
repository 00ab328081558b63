-- An operator lifts a temporary DND. Returns the DND it had (no row when none was lifted), so the caller
-- can tell "not on DND" and "permanent" (which only START lifts) apart. The UPDATE joins the locked row:
-- updating a row that a CTE locked, without joining it, silently skips that row.
WITH old AS (
    SELECT community_id, phone, dnd FROM contacts WHERE community_id = $1 AND phone = $2 FOR UPDATE
)
UPDATE contacts c SET dnd = NULL, dnd_reason = NULL, dnd_at = NULL
FROM old
WHERE c.community_id = old.community_id AND c.phone = old.phone AND old.dnd = 'temporary'
RETURNING old.dnd AS was
