-- Conversations of more than two people (issue 13): a conversation's shape, and its participants in a table of
-- their own.
--
-- shape: 'pair' (a prospect and an advocate, as before), 'one_to_group' (one outside participant, the customer,
-- and 1..N members; N = groups.max_members) or 'group' (3 to 10 outside participants). team_style only for
-- one_to_group: 'everyone' (every member sees everything) or 'claim' (the first member to reply takes it).
--
-- conversation_participants is the truth for who is in a conversation, for every shape (pairs too: backfilled
-- below, and insert_conversation.sql writes both rows). prospect_id and advocate_id stay filled, NOT NULL, for
-- every shape, because the API's pair fields and many queries read them: for a pair they are its two people; for
-- one_to_group the customer and the first member; for a group the first two participants it was opened with.
-- For shapes other than pair they say who it was opened with, not who is in it now (a member may have left).
ALTER TABLE conversations ADD COLUMN shape text NOT NULL DEFAULT 'pair'
    CHECK (shape IN ('pair', 'one_to_group', 'group'));
ALTER TABLE conversations ADD COLUMN team_style text CHECK (team_style IN ('everyone', 'claim'));
ALTER TABLE conversations ADD CONSTRAINT conversations_team_style_of_one_to_group
    CHECK ((shape = 'one_to_group') = (team_style IS NOT NULL));
-- claim style: the member who took the conversation (null until one replies, and again if they leave).
ALTER TABLE conversations ADD COLUMN claimed_by bigint REFERENCES participants (id);
ALTER TABLE conversations ADD CONSTRAINT conversations_claimed_in_claim_style
    CHECK (claimed_by IS NULL OR team_style = 'claim');

-- One open conversation per pair and number still (a second POST finds the first); groups may share two people.
DROP INDEX conversations_open_pair;
CREATE UNIQUE INDEX conversations_open_pair ON conversations (proxy_number, prospect_id, advocate_id)
    WHERE status = 'open' AND shape = 'pair';

-- role: prospect/advocate in a pair, customer/member in one_to_group, member in a group. A participant who left
-- (removed through the API, or STOP) keeps the row with left_at and left_reason; a re-added one gets left_at
-- cleared. seq orders participants as they joined (the API lists them so).
CREATE TABLE conversation_participants (
    conversation_id bigint NOT NULL REFERENCES conversations (id),
    participant_id  bigint NOT NULL REFERENCES participants (id),
    role            text NOT NULL CHECK (role IN ('prospect', 'advocate', 'customer', 'member')),
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    joined_at       timestamptz NOT NULL DEFAULT now(),
    left_at         timestamptz,
    left_reason     text CHECK (left_reason IN ('removed', 'opted_out')),
    PRIMARY KEY (conversation_id, participant_id),
    CHECK ((left_at IS NULL) = (left_reason IS NULL))
);
-- "Which conversations is this participant in?" (routes from Postgres, pool usage, codes shown, the list's phone
-- filter: those they left too).
CREATE INDEX conversation_participants_participant ON conversation_participants (participant_id, conversation_id);

INSERT INTO conversation_participants (conversation_id, participant_id, role, joined_at)
SELECT id, participant_id, role, created_at
FROM (SELECT id, prospect_id AS participant_id, 'prospect' AS role, created_at, 1 AS n FROM conversations
      UNION ALL
      SELECT id, advocate_id, 'advocate', created_at, 2 FROM conversations) both_sides
ORDER BY id, n;

-- The API's conversation: its shape, team style and who took it (claim style), and its participants (every one who joined, in order, with
-- whether they are still in it), as parallel arrays.
CREATE OR REPLACE VIEW conversation_rows AS
SELECT c.id, c.community_id, c.proxy_number, c.code, c.status, c.created_at, c.last_activity_at,
       c.closed_at, c.closed_reason,
       p.phone AS prospect_phone, p.name AS prospect_name, coalesce(pc.preference, 'unknown') AS prospect_preference,
       a.phone AS advocate_phone, a.name AS advocate_name, coalesce(ac.preference, 'unknown') AS advocate_preference,
       c.prospect_id, c.advocate_id,
       c.shape, c.team_style,
       people.phones AS participant_phones, people.names AS participant_names, people.roles AS participant_roles,
       people.active AS participant_active,
       (SELECT phone FROM participants WHERE id = c.claimed_by) AS claimed_by
FROM conversations c
JOIN participants p ON p.id = c.prospect_id
JOIN participants a ON a.id = c.advocate_id
LEFT JOIN contacts pc ON pc.community_id = c.community_id AND pc.phone = p.phone
LEFT JOIN contacts ac ON ac.community_id = c.community_id AND ac.phone = a.phone
CROSS JOIN LATERAL (
    SELECT coalesce(array_agg(x.phone ORDER BY cp.seq), '{}') AS phones,
           coalesce(array_agg(x.name ORDER BY cp.seq), '{}') AS names,
           coalesce(array_agg(cp.role ORDER BY cp.seq), '{}') AS roles,
           coalesce(array_agg(cp.left_at IS NULL ORDER BY cp.seq), '{}') AS active
    FROM conversation_participants cp JOIN participants x ON x.id = cp.participant_id
    WHERE cp.conversation_id = c.id
) people;

-- Statistics for the backfilled table now, not at autovacuum's next look: until it has them, Postgres plans the
-- relay's statement (store_relayed_message.sql) anew on every call instead of reusing its generic plan.
ANALYZE conversation_participants;
