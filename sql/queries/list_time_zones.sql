-- Every time zone name this Postgres server accepts (about 600; the view reads its tz database).
SELECT name FROM pg_timezone_names
