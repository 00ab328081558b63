-- $1 name, $2 mode, $3 inactivity days, $4 countries, $5 default region, $6 require verification,
-- $7 unknown line type policy.
INSERT INTO communities (name, mode, inactivity_days, countries, default_region, require_verification,
                         unknown_line_type)
VALUES ($1, $2, $3, $4, $5, $6, $7)
RETURNING id
