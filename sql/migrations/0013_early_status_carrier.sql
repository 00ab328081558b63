-- Which carrier posted a status for a sid not recorded yet: once the send records the sid, the status is
-- applied only if that carrier is the message's (no carrier moves another's messages). Null for rows kept
-- before this migration: applied unchecked, as they were.
ALTER TABLE early_statuses ADD COLUMN carrier text;
