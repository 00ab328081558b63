-- A status callback for a sid we have not recorded yet; applied once the send's reply records it.
INSERT INTO early_statuses (carrier_sid, status, error_code) VALUES ($1, $2, $3)
