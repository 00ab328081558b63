-- A new community with the table's defaults; update_community then applies the caller's settings.
INSERT INTO communities (name) VALUES ($1) RETURNING id
