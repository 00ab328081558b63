-- How many of a message's attachments ($1) are still to fetch, and what became of the others.
SELECT count(*) FILTER (WHERE state = 'pending') AS pending,
       count(*) FILTER (WHERE state = 'stored') AS stored,
       count(*) AS total,
       coalesce(array_agg(position ORDER BY position) FILTER (WHERE state IN ('refused', 'failed')), '{}') AS positions,
       coalesce(array_agg(refusal ORDER BY position) FILTER (WHERE state IN ('refused', 'failed')), '{}') AS refusals,
       coalesce(array_agg(content_type ORDER BY position) FILTER (WHERE state IN ('refused', 'failed')), '{}') AS types,
       coalesce(array_agg(size ORDER BY position) FILTER (WHERE state IN ('refused', 'failed')), '{}') AS sizes
FROM message_media WHERE message_id = $1
