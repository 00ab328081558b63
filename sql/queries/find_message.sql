SELECT * FROM messages WHERE id = $1
