-- A page of conversations, newest first (keyset on created_at, id), the columns of the conversation_rows view.
-- $1 the communities a token reaches (null: all), $2 community, $3 a participant's phone (either side), $4 status,
-- $5 created at or after, $6 created before, $7 last activity at or after, $8 last activity before, $9 $10 the
-- cursor (created_at, id of the last row of the page before), $11 how many. A phone is found through
-- participants_phone, then conversations_prospect_listed / conversations_advocate_listed, and a member of a
-- conversation of several (migration 0020) through conversation_participants_participant.
SELECT c.*
FROM conversation_rows c
WHERE ($1::bigint[] IS NULL OR c.community_id = ANY($1::bigint[]))
  AND ($2::bigint IS NULL OR c.community_id = $2::bigint)
  AND ($3::text IS NULL
       OR c.prospect_id = ANY(ARRAY(SELECT id FROM participants WHERE phone = $3::text))
       OR c.advocate_id = ANY(ARRAY(SELECT id FROM participants WHERE phone = $3::text))
       OR c.id = ANY(ARRAY(SELECT cp.conversation_id FROM conversation_participants cp
                           JOIN participants p ON p.id = cp.participant_id
                           WHERE p.phone = $3::text AND cp.role = 'member')))
  AND ($4::text IS NULL OR c.status = $4::text)
  AND ($5::timestamptz IS NULL OR c.created_at >= $5::timestamptz)
  AND ($6::timestamptz IS NULL OR c.created_at < $6::timestamptz)
  AND ($7::timestamptz IS NULL OR c.last_activity_at >= $7::timestamptz)
  AND ($8::timestamptz IS NULL OR c.last_activity_at < $8::timestamptz)
  AND ($9::timestamptz IS NULL OR (c.created_at, c.id) < ($9::timestamptz, $10::bigint))
ORDER BY c.created_at DESC, c.id DESC
LIMIT $11
