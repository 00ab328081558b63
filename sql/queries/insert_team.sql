-- A team of community $1 named $2 with style $3 and its members: phones $4 and names $5, in order. Its id.
WITH team AS (
    INSERT INTO teams (community_id, name, style) VALUES ($1, $2, $3) RETURNING id
), members AS (
    INSERT INTO team_members (team_id, phone, name)
    SELECT team.id, m.phone, m.name
    FROM team, unnest($4::text[], $5::text[]) WITH ORDINALITY AS m (phone, name, n)
    ORDER BY m.n
)
SELECT id FROM team
