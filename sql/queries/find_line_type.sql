-- A number's line type, if it was looked up within the last $2 days.
SELECT line_type FROM line_types WHERE phone = $1 AND looked_up_at > now() - make_interval(days => $2)
