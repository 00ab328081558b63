-- Serialises code sends to one phone across processes, so the hourly limits cannot be raced past.
SELECT pg_advisory_xact_lock(hashtextextended('verification:' || $1, 0))
