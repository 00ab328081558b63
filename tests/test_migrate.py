"""Migrations: applied once, in order, under a lock; nothing runs when nothing is pending."""

import asyncio

import asyncpg

from gateway.storage import migrate
from gateway.storage.db import QUERIES


async def _empty_database(url: str, name: str) -> str:
    conn = await asyncpg.connect(url)
    await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {name}")
    await conn.close()
    return url.replace("/gateway_test", f"/{name}")


async def test_two_processes_migrating_at_once_apply_each_file_once(clean):
    url = await _empty_database(clean.database_url, "gateway_migrate_test")
    results = await asyncio.gather(migrate.migrate_url(url), migrate.migrate_url(url))
    versions = [version for version, _ in migrate.available()]
    assert sorted(results, key=len) == [[], versions]
    conn = await asyncpg.connect(url)
    try:
        assert [r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations ORDER BY 1")] == versions
        # Nothing pending: no statement at all, so no DDL and no lock.
        assert await migrate.migrate(conn) == []
    finally:
        await conn.close()


async def test_every_named_query_prepares_against_the_schema(db):
    for name in QUERIES.names():
        await db.prepare(getattr(QUERIES, name))
