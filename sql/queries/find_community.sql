-- A community as the API reads it (the community_rows view, migration 0017).
SELECT * FROM community_rows WHERE id = $1
