-- Serialises conversation creation per community, across processes, for the number choice. NO KEY UPDATE: it
-- still excludes every other locker of the row, but not the key-share lock a foreign-key check takes, so storing a
-- message or contact of the community never waits for it (nor deadlocks with it: a send holding a message row
-- and recording its contact, against a number removal holding this row and canceling that message).
SELECT id, name, require_verification FROM communities WHERE id = $1 FOR NO KEY UPDATE
