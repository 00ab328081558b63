-- A recipient's contact is found by its primary key (community_id, phone) on every text (outbound_block_reason,
-- the relay and each send), but contacts_preference (community_id, preference) also fits `community_id = $1`: while
-- the planner takes `contacts` for empty (0029's CREATE INDEX on the still-empty table recorded 0 rows, and a new
-- database is not analyzed before its first contacts arrive) it found the two equally cheap and read every contact
-- of the community through contacts_preference, 3 ms a text at 5,000 contacts (the sixth before/after round in the
-- README). No query needs that index: the contact list walks the primary key in phone order, and the preference
-- filters are optional (`$2 IS NULL OR preference = $2`), which an index cannot serve. So the primary key is the one
-- index that fits a community's contacts.
DROP INDEX contacts_preference;
