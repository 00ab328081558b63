-- The community that owns a number, with what its keyword replies need.
SELECT c.id, c.name, coalesce(c.sender_name, c.name) AS sender_name, c.help_text, c.opt_out_webhook_url
FROM community_numbers n JOIN communities c ON c.id = n.community_id
WHERE n.phone = $1
