-- Dedicated numbers and team inboxes (issue 13, part 2).
--
-- A team is a named set of member phones (with names) of one community, with the style its inbox conversations
-- get (everyone / claim, as a one_to_group conversation's team_style). A community number may be assigned to one
-- member (a dedicated number: member_phone and member_name) or to a team (team_id), or to nothing (as before).
-- A text from someone without an open conversation on the number then opens a pair with that member, or a
-- one_to_group conversation with the team's members (gateway/relay/strangers.py); conversations.team_id says
-- which team's inbox a conversation is, so a member leaving the team leaves its running conversations too.
CREATE TABLE teams (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id),
    name         text NOT NULL CHECK (name <> ''),
    style        text NOT NULL DEFAULT 'everyone' CHECK (style IN ('everyone', 'claim')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX teams_community ON teams (community_id, id);

-- seq orders members as they were added (a conversation opened for the team lists them so).
CREATE TABLE team_members (
    team_id  bigint NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    phone    text NOT NULL,
    name     text NOT NULL CHECK (name <> ''),
    seq      bigint GENERATED ALWAYS AS IDENTITY,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, phone)
);

-- A number's assignment: a member, a team, or neither. A team with a number cannot be deleted (RESTRICT): its
-- number would silently stop reaching anyone; the API asks to unassign it first.
ALTER TABLE community_numbers ADD COLUMN member_phone text;
ALTER TABLE community_numbers ADD COLUMN member_name text;
ALTER TABLE community_numbers ADD COLUMN team_id bigint REFERENCES teams (id) ON DELETE RESTRICT;
ALTER TABLE community_numbers ADD CONSTRAINT community_numbers_one_assignment
    CHECK ((member_phone IS NULL) = (member_name IS NULL) AND (member_phone IS NULL OR team_id IS NULL));
CREATE INDEX community_numbers_team ON community_numbers (team_id) WHERE team_id IS NOT NULL;

-- Whether other members may start conversations from someone's dedicated number (Spoke's allowable caller ID
-- list, as one switch): off by default, as a DID is its member's private number.
ALTER TABLE communities ADD COLUMN dedicated_numbers_shared boolean NOT NULL DEFAULT false;

-- The team whose inbox a one_to_group conversation is (opened by a stranger's text to the team's number, or
-- by a member on it); null for every other conversation.
ALTER TABLE conversations ADD COLUMN team_id bigint REFERENCES teams (id) ON DELETE SET NULL;
CREATE INDEX conversations_open_of_team ON conversations (team_id) WHERE status = 'open' AND team_id IS NOT NULL;

CREATE OR REPLACE VIEW community_rows AS
SELECT c.id, c.name, c.mode, c.inactivity_days, c.countries, c.default_region, c.require_verification,
       c.unknown_line_type, c.sender_name, c.sender_id_template, c.help_text, c.opt_out_webhook_url,
       c.alert_webhook_url, c.event_url, c.event_types, c.timezone, c.current_day, c.day_started_at,
       c.daily_limit_levels, c.daily_limit_ceiling, c.daily_level, c.monthly_limit, c.compliance_state,
       c.compliance_changed_at, c.error_rate, c.opt_out_rate, c.rates_checked_at, c.created_at, c.updated_at,
       c.intercept_url, c.intercept_policy, c.out_of_session_url,
       coalesce((SELECT array_agg(n.phone ORDER BY n.phone) FROM community_numbers n WHERE n.community_id = c.id),
                '{}') AS numbers,
       coalesce((SELECT array_agg(n.carrier ORDER BY n.phone) FROM community_numbers n WHERE n.community_id = c.id),
                '{}') AS number_carriers,
       (SELECT count(*) FROM conversations v WHERE v.community_id = c.id AND v.status = 'open') AS open_conversations,
       c.dedicated_numbers_shared
FROM communities c;

-- A team as the API reads it: its members (in the order added) and the numbers assigned to it, as parallel arrays.
CREATE VIEW team_rows AS
SELECT t.id, t.community_id, t.name, t.style, t.created_at, t.updated_at,
       coalesce((SELECT array_agg(m.phone ORDER BY m.seq) FROM team_members m WHERE m.team_id = t.id), '{}')
           AS member_phones,
       coalesce((SELECT array_agg(m.name ORDER BY m.seq) FROM team_members m WHERE m.team_id = t.id), '{}')
           AS member_names,
       coalesce((SELECT array_agg(n.phone ORDER BY n.phone) FROM community_numbers n WHERE n.team_id = t.id), '{}')
           AS numbers
FROM teams t;

-- The API's conversation names the team whose inbox it is (0020's view, team_id at the end).
CREATE OR REPLACE VIEW conversation_rows AS
SELECT c.id, c.community_id, c.proxy_number, c.code, c.status, c.created_at, c.last_activity_at,
       c.closed_at, c.closed_reason,
       p.phone AS prospect_phone, p.name AS prospect_name, coalesce(pc.preference, 'unknown') AS prospect_preference,
       a.phone AS advocate_phone, a.name AS advocate_name, coalesce(ac.preference, 'unknown') AS advocate_preference,
       c.prospect_id, c.advocate_id,
       c.shape, c.team_style,
       people.phones AS participant_phones, people.names AS participant_names, people.roles AS participant_roles,
       people.active AS participant_active,
       (SELECT phone FROM participants WHERE id = c.claimed_by) AS claimed_by,
       c.team_id
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
