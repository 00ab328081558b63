-- Create or update a batch of a community's contacts (PUT, PATCH, and each batch of a CSV import) in one statement.
-- $1 community; per row: $2 phones (E.164, each once), $3 names (null: unchanged; '': none), $4 field changes
-- (a jsonb object: a string sets a field, null removes it; null: unchanged), $5 tags (a jsonb list; null: unchanged),
-- $6 preferences ('opted_in', 'opted_out'; null: unchanged); $7 whether the field changes replace every field (PUT).
-- An opt-in is refused for a contact whose opt-out came from a keyword (their STOP; only their START opts them back
-- in): such a row changes nothing. Rows are created, updated, refused, or unchanged (no write when nothing
-- differs); `lost` lists the phones another statement created between this one's snapshot and its insert (the
-- caller runs them again: they update then).
WITH input AS (
    SELECT u.phone, u.name, u.fields, u.preference,
           CASE WHEN u.tags IS NOT NULL THEN ARRAY(SELECT jsonb_array_elements_text(u.tags)) END AS tags
    FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::jsonb[], $6::text[]) AS u (phone, name, fields, tags, preference)
), existing AS (
    SELECT c.phone, c.preference = 'opted_out' AND c.preference_keyword IS NOT NULL AS stopped
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
        updated_at = now()
    FROM input i
    WHERE c.community_id = $1 AND c.phone = i.phone
      AND NOT (i.preference = 'opted_in' AND c.preference = 'opted_out' AND c.preference_keyword IS NOT NULL)
      AND (c.name IS DISTINCT FROM CASE WHEN i.name IS NULL THEN c.name ELSE nullif(i.name, '') END
           OR c.fields <> CASE WHEN i.fields IS NULL THEN c.fields
                               ELSE jsonb_strip_nulls(CASE WHEN $7 THEN '{}' ELSE c.fields END || i.fields) END
           OR c.tags <> coalesce(i.tags, c.tags)
           OR c.preference <> coalesce(i.preference, c.preference))
    RETURNING c.phone, old.preference AS before, new.preference AS after
), inserted AS (
    INSERT INTO contacts (community_id, phone, name, fields, tags, preference, preference_changed_at,
                          preference_source)
    SELECT $1, i.phone, nullif(i.name, ''), jsonb_strip_nulls(coalesce(i.fields, '{}')), coalesce(i.tags, '{}'),
           coalesce(i.preference, 'unknown'), CASE WHEN i.preference IS NOT NULL THEN now() END,
           CASE WHEN i.preference IS NOT NULL THEN 'api' END
    FROM input i
    WHERE i.phone NOT IN (SELECT phone FROM existing)
    ON CONFLICT (community_id, phone) DO NOTHING
    RETURNING phone, preference
), recorded AS (
    -- Kept for the record; preference_source 'api' and no keyword: the opt-out rate counts only keywords.
    INSERT INTO preference_events (community_id, phone, preference, source_number)
    SELECT $1, phone, after, 'api' FROM updated WHERE before <> after
    UNION ALL
    SELECT $1, phone, preference, 'api' FROM inserted WHERE preference <> 'unknown'
)
SELECT coalesce((SELECT array_agg(phone) FROM inserted), '{}') AS created,
       coalesce((SELECT array_agg(phone) FROM updated), '{}') AS updated,
       coalesce((SELECT array_agg(e.phone) FROM existing e JOIN input i USING (phone)
                 WHERE e.stopped AND i.preference = 'opted_in'
                   AND e.phone NOT IN (SELECT phone FROM updated)), '{}') AS refused,
       coalesce((SELECT array_agg(i.phone) FROM input i
                 WHERE i.phone NOT IN (SELECT phone FROM existing) AND i.phone NOT IN (SELECT phone FROM inserted)),
                '{}') AS lost
