-- Broadcasts whose time has come start running; a filter audience's recipients are read from the community's
-- contacts in the same statement (the filter's tag, and its preference: the one that governs the category, as
-- contact_preference_for reads it). Two processes may run this at once: the second waits for the first's row
-- locks, then finds the rows no longer scheduled. Returns the ids started.
WITH started AS (
    UPDATE broadcasts SET state = 'running', started_at = now()
    WHERE state = 'scheduled' AND send_at <= now()
    RETURNING id, community_id, category, audience -> 'filter' AS filter
), chosen AS (
    INSERT INTO broadcast_recipients (broadcast_id, phone)
    SELECT s.id, ct.phone
    FROM started s
    JOIN contacts ct ON ct.community_id = s.community_id
    WHERE s.filter IS NOT NULL
      AND (s.filter ->> 'tag' IS NULL OR ct.tags @> ARRAY[s.filter ->> 'tag'])
      AND (s.filter ->> 'preference' IS NULL
           OR CASE WHEN s.category = 'marketing' AND community_separates_marketing(s.community_id)
                   THEN ct.marketing_preference ELSE ct.preference END = s.filter ->> 'preference')
    ORDER BY ct.phone
    ON CONFLICT (broadcast_id, phone) DO NOTHING
)
SELECT id FROM started ORDER BY id
