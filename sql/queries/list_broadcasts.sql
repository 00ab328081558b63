-- A page of a community's broadcasts, oldest first. $1 community, $2 after this id (0: from the first), $3 how
-- many.
SELECT * FROM broadcasts WHERE community_id = $1 AND id > $2 ORDER BY id LIMIT $3
