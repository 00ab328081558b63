-- Every relayed text sets its conversation's last_activity_at, and conversations_open_idle (migration 0001) indexed
-- that column: each text rewrote the row with a new entry in all twelve of the table's indexes (13 write-ahead log
-- records, 953 bytes, per text in bench/run.py; no update of conversations was heap-only). Expiry needs only the day:
-- it closes conversations idle for whole days (communities.inactivity_days). So the index reads a day derived from
-- last_activity_at, and a text that leaves the day as it was changes no indexed column: Postgres rewrites the row in
-- place (a HOT update) and touches no index. last_activity_at itself stays exact, for the API and its filters.
-- (An index on an expression of last_activity_at would not do: any change to a column an expression index reads
-- keeps the update out of place.) tests/test_hot_updates.py checks it. Adding a stored column rewrites the table
-- once, under its lock: texts wait for it during the upgrade.
-- fillfactor: room on each page for the row's next version, so that the update in place finds it.
ALTER TABLE conversations SET (fillfactor = 90),
    ADD COLUMN active_day date GENERATED ALWAYS AS ((last_activity_at AT TIME ZONE 'UTC')::date) STORED;
CREATE INDEX conversations_open_idle_day ON conversations (active_day) WHERE status = 'open';
DROP INDEX conversations_open_idle;
