-- Take a number from its community ($1 the number, $2 the community); no row when it is not the community's.
DELETE FROM community_numbers WHERE phone = $1 AND community_id = $2 RETURNING phone
