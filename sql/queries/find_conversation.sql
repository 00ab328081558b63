-- A conversation with both participants and their SMS preference (the conversation_rows view, migration 0017).
SELECT * FROM conversation_rows WHERE id = $1
