-- Issue 15's foundation: contacts with data, templates with a review state, number categories, and the columns
-- that tie an outbound message to the template it was rendered from and to its category.

-- A contact's name, merge fields ({"first_name": "Ana", "reward_amount": "$20"}: strings only) and tags.
ALTER TABLE contacts
    ADD COLUMN name text,
    ADD COLUMN fields jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(fields) = 'object'),
    ADD COLUMN tags text[] NOT NULL DEFAULT '{}',
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    -- Used only where the community keeps marketing numbers apart (community_separates_marketing): then a STOP
    -- or START sent to a marketing number sets this one, and any other sets preference (Ambassador's page: "opt-in
    -- is all-or-nothing ... unless you have two separate phone numbers set up").
    ADD COLUMN marketing_preference text NOT NULL DEFAULT 'unknown'
        CHECK (marketing_preference IN ('unknown', 'opted_in', 'opted_out')),
    ADD COLUMN marketing_preference_changed_at timestamptz;
CREATE INDEX contacts_tags ON contacts USING gin (tags);

-- A number's category: null serves everything; 'transactional' or 'marketing' numbers send that category of
-- template, and a community with a marketing number keeps the two opt-outs apart.
ALTER TABLE community_numbers ADD COLUMN category text CHECK (category IN ('transactional', 'marketing'));

-- A message template. Only an approved one sends; changing an approved template's body or category takes it
-- back to draft (it must be approved again).
CREATE TABLE templates (
    id           bigserial PRIMARY KEY,
    community_id bigint NOT NULL REFERENCES communities (id),
    name         text NOT NULL CHECK (name <> ''),
    category     text NOT NULL CHECK (category IN ('transactional', 'marketing')),
    body         text NOT NULL CHECK (body <> ''),
    state        text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'submitted', 'approved', 'rejected')),
    review_note  text,                 -- the reviewer's reason, for a rejection
    reviewed_by  text,                 -- the name of the API token that approved or rejected it
    reviewed_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (community_id, name)
);

ALTER TABLE messages
    ADD COLUMN template_id bigint REFERENCES templates (id),
    -- Set on template sends only: quiet hours hold marketing texts (compliance), and the outcome log counts them.
    ADD COLUMN category text CHECK (category IN ('transactional', 'marketing'));
CREATE INDEX messages_template ON messages (template_id, id) WHERE template_id IS NOT NULL;

ALTER TABLE messages DROP CONSTRAINT messages_kind_check;
ALTER TABLE messages ADD CONSTRAINT messages_kind_check
    CHECK (kind IN ('inbound', 'relay', 'notification', 'auto_reply', 'help', 'verification', 'keyword_reply',
                    'whatsapp_template', 'triggered', 'broadcast', 'template_test')) NOT VALID;
ALTER TABLE messages VALIDATE CONSTRAINT messages_kind_check;

-- Whether the community keeps marketing apart: it has at least one marketing number.
CREATE FUNCTION community_separates_marketing(community bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT 1 FROM community_numbers n WHERE n.community_id = community AND n.category = 'marketing')
$$;

-- The preference that governs a send of this category (null: not a template send) to a contact.
CREATE FUNCTION contact_preference_for(community bigint, phone text, category text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((
        SELECT CASE WHEN category = 'marketing' AND community_separates_marketing(community)
                    THEN ct.marketing_preference ELSE ct.preference END
        FROM contacts ct WHERE ct.community_id = community AND ct.phone = contact_preference_for.phone), 'unknown')
$$;
