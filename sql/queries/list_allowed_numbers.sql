SELECT phone, created_at FROM allow_list WHERE community_id = $1 ORDER BY phone
