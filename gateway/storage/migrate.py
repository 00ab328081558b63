"""Schema migrations: numbered SQL files applied once each, in order, under an advisory lock."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import structlog

from gateway.storage.db import SQL_DIR

MIGRATIONS_DIR = SQL_DIR / "migrations"
# Any constant works; every gateway process uses the same one, so only one migrates at a time.
LOCK_ID = 7_310_451_221

log = structlog.get_logger(__name__)


def available(directory: Path = MIGRATIONS_DIR) -> list[tuple[str, str]]:
    """(version, sql) for every migration file, in order of its number."""
    return [(path.stem, path.read_text()) for path in sorted(directory.glob("[0-9]*.sql"))]


async def applied(conn: asyncpg.Connection) -> set[str]:
    if await conn.fetchval("SELECT to_regclass('schema_migrations')") is None:
        return set()
    return {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}


async def pending(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    done = await applied(conn)
    return [(version, sql) for version, sql in available() if version not in done]


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply what is pending; returns the versions applied. Runs no DDL when nothing is pending."""
    if not await pending(conn):
        return []
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_ID)
    try:
        todo = await pending(conn)  # another process may have applied them while we waited
        if todo:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        for version, sql in todo:
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            log.info("migration_applied", version=version)
        return [version for version, _ in todo]
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_ID)


async def migrate_url(url: str) -> list[str]:
    conn = await asyncpg.connect(url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
