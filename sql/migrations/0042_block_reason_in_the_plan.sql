-- Why a message must not be sent (0032's rule, unchanged), as a function the planner inlines into the statement
-- that asks. A scalar SQL function that reads tables runs as a plan of its own on every call: in bench/run.py that
-- took 0.36 ms of the 1.05 ms a relayed message's statement took, and 0.12 ms of beginning each send (auto_explain,
-- nested statements, issue 10). Postgres inlines a SQL function called in FROM when it returns a set and is neither
-- STRICT, VOLATILE nor SECURITY DEFINER; so this one returns a table of at most one row (none when the community
-- does not exist, which the old form answered with null), and callers ask `(SELECT reason FROM outbound_block(...))`.
-- category: null for anything but a template send. tests/test_vocabulary.py checks the reasons and the inlining.
CREATE FUNCTION outbound_block(community bigint, phone text, kind text, category text) RETURNS TABLE (reason text)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN kind = 'keyword_reply' THEN NULL
        WHEN c.mode = 'test' AND NOT EXISTS (
            SELECT 1 FROM allow_list a WHERE a.community_id = c.id AND a.phone = outbound_block.phone)
        THEN 'not_on_allow_list'
        -- (CASE, not AND: a relay, category null, never asks community_separates_marketing.)
        WHEN CASE WHEN category IS DISTINCT FROM 'marketing' THEN ct.preference
                  WHEN community_separates_marketing(c.id) THEN ct.marketing_preference
                  ELSE ct.preference END = 'opted_out' THEN 'opted_out'
        WHEN ct.dnd IS NOT NULL THEN 'dnd'
    END
    FROM communities c
    LEFT JOIN contacts ct ON ct.community_id = c.id AND ct.phone = outbound_block.phone
    WHERE c.id = community
$$;

-- The old forms stay, asking the new one, for the processes of the release before during a rolling restart
-- (their statements name them); nothing of this release calls them.
CREATE OR REPLACE FUNCTION outbound_block_reason(community bigint, phone text, kind text, category text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT b.reason FROM outbound_block(community, phone, kind, category) b
$$;
CREATE OR REPLACE FUNCTION outbound_block_reason(community bigint, phone text, kind text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT b.reason FROM outbound_block(community, phone, kind, NULL::text) b
$$;
