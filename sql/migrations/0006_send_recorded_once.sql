-- When the carrier's acceptance of a send was recorded. A record whose reply from Postgres was lost is tried
-- again; with this set, the second try changes nothing and counts no segment twice.
ALTER TABLE messages ADD COLUMN accepted_at timestamptz;
