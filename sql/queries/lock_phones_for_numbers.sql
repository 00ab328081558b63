-- Serialises, per phone and across processes, what makes a phone a number (adding it to a community) with what
-- makes it a participant (starting a conversation): each checks the other under this lock, so both cannot
-- pass. $1 the phones; locked in sorted order, after the community's row, so two of these never wait in a cycle.
SELECT pg_advisory_xact_lock(hashtextextended('phone:' || phone, 0))
FROM (SELECT DISTINCT phone FROM unnest($1::text[]) AS p (phone) ORDER BY phone) sorted
