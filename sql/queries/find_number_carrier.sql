-- Whether $1 is one of our numbers, and the carrier it is on (null: the gateway's default carrier).
SELECT carrier FROM community_numbers WHERE phone = $1
