-- Status callbacks kept for a sid that a recorded send now has: those a callback kept just as the send's record
-- committed missed (each statement reads its own snapshot, so neither saw the other), and those kept by a
-- process that stopped between the two. Handed back with their message, oldest first, and deleted: a kept
-- callback is applied by whichever of this and record_send_accepted.sql deletes it, once. At most $1.
DELETE FROM early_statuses e
WHERE e.id IN (SELECT k.id FROM early_statuses k JOIN messages m ON m.carrier_sid = k.carrier_sid
               WHERE m.accepted_at IS NOT NULL ORDER BY k.id LIMIT $1)
RETURNING e.id, e.carrier_sid, e.status, e.error_code, e.carrier,
          (SELECT m.id FROM messages m WHERE m.carrier_sid = e.carrier_sid) AS message_id
