-- The community that owns a number, with what its keyword replies need, and the number's category (a keyword to a
-- marketing number changes the marketing preference).
SELECT c.id, c.name, coalesce(c.sender_name, c.name) AS sender_name, c.help_text, c.opt_out_webhook_url, n.category
FROM community_numbers n JOIN communities c ON c.id = n.community_id
WHERE n.phone = $1
