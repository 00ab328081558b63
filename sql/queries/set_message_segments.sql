-- The identified body of a first message costs what it costs.
UPDATE messages SET segments = $2 WHERE id = $1
