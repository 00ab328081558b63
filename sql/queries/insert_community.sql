INSERT INTO communities (name, mode, inactivity_days) VALUES ($1, $2, $3) RETURNING id
