-- An open pair of this prospect with this advocate in the community, on any number.
SELECT id FROM conversations
WHERE community_id = $1 AND prospect_id = $2 AND advocate_id = $3 AND status = 'open' AND shape = 'pair'
