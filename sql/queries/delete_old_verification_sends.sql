-- The hourly limits look back one hour; older sends are history nobody reads.
DELETE FROM verification_sends WHERE sent_at < now() - interval '1 day'
