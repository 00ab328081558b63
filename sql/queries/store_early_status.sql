-- A status callback for a sid we have not recorded yet, from carrier $4; applied once the send's reply records
-- the sid, if the message went out through that carrier.
INSERT INTO early_statuses (carrier_sid, status, error_code, carrier) VALUES ($1, $2, $3, $4)
