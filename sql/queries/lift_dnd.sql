-- An operator lifts a temporary DND. Returns the DND it had (no row when none was lifted), so the caller
-- can tell "not on DND" and "permanent" (which only START lifts) apart. The UPDATE joins the locked row:
-- updating a row that a CTE locked, without joining it, silently skips that row.
WITH old AS (
    SELECT community_id, phone, dnd FROM contacts WHERE community_id = $1 AND phone = $2 FOR UPDATE
), lifted AS (
    UPDATE contacts c SET dnd = NULL, dnd_reason = NULL, dnd_at = NULL
    FROM old
    WHERE c.community_id = old.community_id AND c.phone = old.phone AND old.dnd = 'temporary'
    RETURNING c.community_id, c.phone, old.dnd AS was
), hooks AS (
    -- dnd.lifted, where the community has somewhere to send it.
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT l.community_id, t.url, t.target, 'dnd.lifted', event_body('dnd.lifted', jsonb_build_object(
               'community_id', l.community_id, 'phone', l.phone, 'dnd', l.was))
    FROM lifted l, event_targets(l.community_id, 'dnd.lifted') t
)
SELECT was FROM lifted
