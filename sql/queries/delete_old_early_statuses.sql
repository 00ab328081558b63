-- A callback for a sid that no send of ours ever recorded, kept a day, is noise.
DELETE FROM early_statuses WHERE received_at < now() - interval '1 day'
