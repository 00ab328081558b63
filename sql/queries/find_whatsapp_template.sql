-- The community's re-engagement template (null: none set), for sending a template message.
SELECT whatsapp_template FROM communities WHERE id = $1
