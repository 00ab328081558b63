-- The carrier said $2's window on our number $1 is closed (Twilio 63016): closed until they write again.
UPDATE whatsapp_contacts SET window_closed_at = now(), updated_at = now()
WHERE proxy_number = $1 AND phone = $2
