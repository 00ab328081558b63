-- One contact of a community, with its data; no row when the community has none with this phone.
SELECT phone, preference, preference_changed_at, preference_keyword, preference_source, dnd, dnd_reason, dnd_at,
       first_inbound_at, marketing_preference, name, fields, tags, created_at, updated_at
FROM contacts
WHERE community_id = $1 AND phone = $2
