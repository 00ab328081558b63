SELECT dnd FROM contacts WHERE community_id = $1 AND phone = $2
