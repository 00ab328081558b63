-- Create or update a batch of a community's contacts (PUT, PATCH, and each batch of a CSV import) in one statement.
-- $1 community; per row: $2 phones (E.164, each once), $3 names (null: unchanged; '': none), $4 field changes
-- (a jsonb object: a string sets a field, null removes it; null: unchanged), $5 tags (a jsonb list; null: unchanged),
-- $6 preferences ('opted_in', 'opted_out'; null: unchanged); $7 whether the field changes replace every field (PUT);
-- $8 marketing preferences (as $6: the preference marketing sends answer to where the community keeps marketing
-- numbers apart; recorded in preference_events with category 'marketing').
-- An opt-in is refused for a contact whose opt-out came from a keyword (their STOP; only their START opts them back
-- in), and a marketing opt-in for one whose marketing opt-out did (the last marketing event has a keyword): such a
-- row changes nothing. Rows are created, updated, refused, or unchanged (no write when nothing
-- differs); `lost` lists the phones another statement created between this one's snapshot and its insert (the
-- caller runs them again: they update then).
WITH input AS (
    SELECT u.phone, u.name, u.fields, u.preference, u.marketing,
           CASE WHEN u.tags IS NOT NULL THEN ARRAY(SELECT jsonb_array_elements_text(u.tags)) END AS tags
    FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::jsonb[], $6::text[], $8::text[])
        AS u (phone, name, fields, tags, preference, marketing)
), existing AS (
    SELECT c.phone, c.preference = 'opted_out' AND c.preference_keyword IS NOT NULL AS stopped,
           CASE WHEN c.marketing_preference = 'opted_out' AND i.marketing = 'opted_in' THEN (
               SELECT e.keyword IS NOT NULL FROM preference_events e
               WHERE e.community_id = $1 AND e.phone = c.phone AND e.category = 'marketing'
               ORDER BY e.id DESC LIMIT 1) END AS marketing_stopped
    FROM contacts c JOIN input i ON c.community_id = $1 AND c.phone = i.phone
), updated AS (
    -- The live row (not the snapshot) decides: the UPDATE re-reads a row another transaction just changed.
    UPDATE contacts c
    SET name = CASE WHEN i.name IS NULL THEN c.name ELSE nullif(i.name, '') END,
        fields = CASE WHEN i.fields IS NULL THEN c.fields
                      ELSE jsonb_strip_nulls(CASE WHEN $7 THEN '{}' ELSE c.fields END || i.fields) END,
        tags = coalesce(i.tags, c.tags),
        preference = coalesce(i.preference, c.preference),
        preference_changed_at = CASE WHEN i.preference <> c.preference THEN now() ELSE c.preference_changed_at END,
        preference_source = CASE WHEN i.preference <> c.preference THEN 'api' ELSE c.preference_source END,
        preference_keyword = CASE WHEN i.preference <> c.preference THEN NULL ELSE c.preference_keyword END,
        marketing_preference = coalesce(i.marketing, c.marketing_preference),
        marketing_preference_changed_at = CASE WHEN i.marketing <> c.marketing_preference THEN now()
                                               ELSE c.marketing_preference_changed_at END,
        updated_at = now()
    FROM input i JOIN existing e USING (phone)
    WHERE c.community_id = $1 AND c.phone = i.phone
      AND NOT (i.preference = 'opted_in' AND c.preference = 'opted_out' AND c.preference_keyword IS NOT NULL)
      -- (the snapshot's last marketing event: a marketing STOP landing meanwhile waits on this row, then wins)
      AND NOT (i.marketing = 'opted_in' AND c.marketing_preference = 'opted_out' AND coalesce(e.marketing_stopped, false))
      AND (c.name IS DISTINCT FROM CASE WHEN i.name IS NULL THEN c.name ELSE nullif(i.name, '') END
           OR c.fields <> CASE WHEN i.fields IS NULL THEN c.fields
                               ELSE jsonb_strip_nulls(CASE WHEN $7 THEN '{}' ELSE c.fields END || i.fields) END
           OR c.tags <> coalesce(i.tags, c.tags)
           OR c.preference <> coalesce(i.preference, c.preference)
           OR c.marketing_preference <> coalesce(i.marketing, c.marketing_preference))
    RETURNING c.phone, old.preference AS before, new.preference AS after, old.marketing_preference AS marketing_before,
              new.marketing_preference AS marketing_after
), inserted AS (
    INSERT INTO contacts (community_id, phone, name, fields, tags, preference, preference_changed_at,
                          preference_source, marketing_preference, marketing_preference_changed_at)
    SELECT $1, i.phone, nullif(i.name, ''), jsonb_strip_nulls(coalesce(i.fields, '{}')), coalesce(i.tags, '{}'),
           coalesce(i.preference, 'unknown'), CASE WHEN i.preference IS NOT NULL THEN now() END,
           CASE WHEN i.preference IS NOT NULL THEN 'api' END, coalesce(i.marketing, 'unknown'),
           CASE WHEN i.marketing IS NOT NULL THEN now() END
    FROM input i
    WHERE i.phone NOT IN (SELECT phone FROM existing)
    ON CONFLICT (community_id, phone) DO NOTHING
    RETURNING phone, preference, marketing_preference
), recorded AS (
    -- Kept for the record; preference_source 'api' and no keyword: the opt-out rate counts only keywords.
    INSERT INTO preference_events (community_id, phone, preference, source_number, category)
    SELECT $1, phone, after, 'api', NULL FROM updated WHERE before <> after
    UNION ALL
    SELECT $1, phone, preference, 'api', NULL FROM inserted WHERE preference <> 'unknown'
    UNION ALL
    SELECT $1, phone, marketing_after, 'api', 'marketing' FROM updated WHERE marketing_before <> marketing_after
    UNION ALL
    SELECT $1, phone, marketing_preference, 'api', 'marketing' FROM inserted WHERE marketing_preference <> 'unknown'
)
SELECT coalesce((SELECT array_agg(phone) FROM inserted), '{}') AS created,
       coalesce((SELECT array_agg(phone) FROM updated), '{}') AS updated,
       coalesce((SELECT array_agg(e.phone) FROM existing e JOIN input i USING (phone)
                 WHERE (e.stopped AND i.preference = 'opted_in' OR coalesce(e.marketing_stopped, false))
                   AND e.phone NOT IN (SELECT phone FROM updated)), '{}') AS refused,
       coalesce((SELECT array_agg(i.phone) FROM input i
                 WHERE i.phone NOT IN (SELECT phone FROM existing) AND i.phone NOT IN (SELECT phone FROM inserted)),
                '{}') AS lost
