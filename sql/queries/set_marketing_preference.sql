-- Record a phone's marketing preference for a community, from a keyword texted to one of its marketing numbers
-- (README "Separate numbers for marketing"): marketing sends answer to it (contact_preference_for), and the SMS
-- preference, which the community's other texts answer to, stays as it is. $1 community, $2 phone, $3 preference,
-- $4 the number texted, $5 the keyword. Returns whether anything changed (the INSERT locks the contact; no lock
-- is taken before it).
WITH changed AS (
    INSERT INTO contacts (community_id, phone, marketing_preference, marketing_preference_changed_at, first_inbound_at)
    VALUES ($1, $2, $3, now(), now())
    ON CONFLICT (community_id, phone) DO UPDATE
    SET marketing_preference = excluded.marketing_preference, marketing_preference_changed_at = now(),
        first_inbound_at = coalesce(contacts.first_inbound_at, now())
    WHERE contacts.marketing_preference <> excluded.marketing_preference
    RETURNING coalesce(old.marketing_preference, 'unknown') AS before
), event AS (
    INSERT INTO preference_events (community_id, phone, preference, keyword, source_number, category)
    SELECT $1, $2, $3, $5, $4, 'marketing' FROM changed WHERE before <> $3
), hooks AS (
    -- contact.preference_changed with "category": "marketing", where the community has somewhere to send it.
    INSERT INTO webhook_deliveries (community_id, url, target, event, payload)
    SELECT $1, t.url, t.target, 'contact.preference_changed', event_body('contact.preference_changed',
               jsonb_build_object('community_id', $1::bigint, 'phone', $2::text, 'preference', $3::text,
                                  'previous', c.before, 'keyword', $5::text, 'number', $4::text,
                                  'category', 'marketing'))
    FROM changed c, event_targets($1, 'contact.preference_changed') t
    WHERE c.before <> $3
)
SELECT coalesce((SELECT before FROM changed), $3::text) AS before, EXISTS (SELECT 1 FROM changed WHERE before <> $3)
       AS changed
