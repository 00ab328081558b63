-- Has this phone opted out of (or been put on DND by) the community that owns this number?
SELECT EXISTS (
    SELECT 1 FROM community_numbers n
    JOIN contacts ct ON ct.community_id = n.community_id AND ct.phone = $2
    WHERE n.phone = $1 AND (ct.preference = 'opted_out' OR ct.dnd IS NOT NULL)
)
