"""The routing table in Redis, true in Postgres."""
