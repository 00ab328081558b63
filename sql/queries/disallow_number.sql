DELETE FROM allow_list WHERE community_id = $1 AND phone = $2 RETURNING phone
