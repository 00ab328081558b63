"""Postgres: the pool, migrations, named queries, batched statements."""
