-- Which of the phones ($1) are the gateway's own numbers (any community's): a contact import refuses those rows.
SELECT phone FROM community_numbers WHERE phone = ANY($1::text[])
