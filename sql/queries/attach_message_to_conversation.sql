-- An out-of-session text, relayed into the conversation the platform opened for it, belongs to it from now on.
UPDATE messages SET conversation_id = $2, updated_at = now() WHERE id = $1 AND conversation_id IS NULL
