-- Serialises code sends in one community across processes, so its hourly limit cannot be raced past (with
-- only the phone's lock, many phones at once all counted the same sends). Taken before the phone's lock,
-- always in that order, so two starts never wait on each other in a cycle.
SELECT pg_advisory_xact_lock(hashtextextended('verification-community:' || $1::bigint::text, 0))
