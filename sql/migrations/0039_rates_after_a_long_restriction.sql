-- The texts a restriction held go out on its lift and count in the rates from then on (community_rates.sql), but
-- the rates read messages created in the last 24 hours: a text held longer than that was never measured. The lift
-- keeps when the oldest text it releases was created, and while the lift is less than 24 hours old the rates read
-- from then.
ALTER TABLE communities ADD COLUMN rates_held_from timestamptz;
