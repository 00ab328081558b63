-- Open conversations on one of our numbers (conversations_open_code serves it).
SELECT count(*) FROM conversations WHERE proxy_number = $1 AND status = 'open'
