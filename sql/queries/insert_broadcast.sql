-- A new broadcast, scheduled for $7, with the recipients of a phone list (none for a filter audience: those are
-- read from contacts when it starts, start_due_broadcasts.sql), in the order given: $8 the phones read as E.164
-- (each once), pending; then $9 those that could not be read, kept as given and skipped at once (invalid_number).
-- $1 community, $2 template, $3 category, $4 body, $5 audience, $6 data.
WITH broadcast AS (
    INSERT INTO broadcasts (community_id, template_id, category, body, audience, data, send_at)
    VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7)
    RETURNING id
), listed AS (
    INSERT INTO broadcast_recipients (broadcast_id, phone, outcome, skip_reason, processed_at)
    SELECT b.id, p.phone, CASE WHEN p.n > cardinality($8::text[]) THEN 'skipped' ELSE 'pending' END,
           CASE WHEN p.n > cardinality($8::text[]) THEN 'invalid_number' END,
           CASE WHEN p.n > cardinality($8::text[]) THEN now() END
    FROM broadcast b, unnest($8::text[] || $9::text[]) WITH ORDINALITY p (phone, n)
    ORDER BY p.n
    ON CONFLICT (broadcast_id, phone) DO NOTHING
)
SELECT id FROM broadcast
