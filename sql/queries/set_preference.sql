-- Record a phone's SMS preference for a community, from a keyword texted to one of its numbers.
-- Opting in also lifts a permanent DND: only the person can. $1 community, $2 phone, $3 preference,
-- $4 the number texted, $5 the keyword. Returns the preference before, and whether anything changed.
WITH old AS (
    SELECT preference, dnd FROM contacts WHERE community_id = $1 AND phone = $2 FOR UPDATE
), changed AS (
    INSERT INTO contacts (community_id, phone, preference, preference_changed_at, preference_source,
                          preference_keyword, first_inbound_at)
    VALUES ($1, $2, $3, now(), $4, $5, now())
    ON CONFLICT (community_id, phone) DO UPDATE
    SET preference = excluded.preference, preference_changed_at = now(), preference_source = excluded.preference_source,
        preference_keyword = excluded.preference_keyword,
        first_inbound_at = coalesce(contacts.first_inbound_at, now()),
        dnd = CASE WHEN excluded.preference = 'opted_in' AND contacts.dnd = 'permanent' THEN NULL ELSE contacts.dnd END
    WHERE contacts.preference <> excluded.preference
       OR (excluded.preference = 'opted_in' AND contacts.dnd = 'permanent')
    RETURNING 1
), event AS (
    INSERT INTO preference_events (community_id, phone, preference, keyword, source_number)
    SELECT $1, $2, $3, $5, $4
    WHERE coalesce((SELECT preference FROM old), 'unknown') <> $3
), hooks AS (
    -- contact.preference_changed (what the opt-out webhook was), where the community has somewhere to send it.
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT $1, t.url, t.target, 'contact.preference_changed', event_body('contact.preference_changed',
               jsonb_build_object('community_id', $1::bigint, 'phone', $2::text, 'preference', $3::text,
                                  'previous', coalesce((SELECT preference FROM old), 'unknown'),
                                  'keyword', $5::text, 'number', $4::text))
    FROM event_targets($1, 'contact.preference_changed') t
    WHERE coalesce((SELECT preference FROM old), 'unknown') <> $3
)
SELECT coalesce((SELECT preference FROM old), 'unknown') AS before,
       coalesce((SELECT preference FROM old), 'unknown') <> $3 AS changed
