SELECT EXISTS (SELECT 1 FROM verified_phones WHERE community_id = $1 AND phone = $2)
