-- Which of these routes ($1 conversation ids beside $2 participant phones) Postgres still has: the conversation open
-- and the participant in it; with the phones of the others in it now, in the order they joined, so a route whose
-- recipients moved (a member added or removed meanwhile) is written again.
SELECT k.conversation_id, k.phone,
       (SELECT coalesce(array_agg(op.phone ORDER BY o.seq), '{}')
        FROM conversation_participants o JOIN participants op ON op.id = o.participant_id
        WHERE o.conversation_id = k.conversation_id AND o.left_at IS NULL AND op.phone <> k.phone) AS others
FROM unnest($1::bigint[], $2::text[]) AS k (conversation_id, phone)
JOIN conversations c ON c.id = k.conversation_id AND c.status = 'open'
JOIN conversation_participants cp ON cp.conversation_id = c.id AND cp.left_at IS NULL
JOIN participants p ON p.id = cp.participant_id AND p.phone = k.phone
