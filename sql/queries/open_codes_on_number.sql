SELECT code FROM conversations WHERE proxy_number = $1 AND status = 'open'
