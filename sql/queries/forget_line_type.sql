-- An erased phone's cached line type goes (it is looked up again if the phone comes back); returns how many rows.
WITH gone AS (DELETE FROM line_types WHERE phone = $1 RETURNING 1)
SELECT count(*) FROM gone
