-- A community's broadcast. $1 community, $2 broadcast.
SELECT * FROM broadcasts WHERE community_id = $1 AND id = $2
