"""The line-type cache in Postgres: what a lookup said about a number, and when."""

from __future__ import annotations

from gateway.storage.db import QUERIES, Executor


async def find_line_type(db: Executor, *, phone: str, max_age_days: int) -> str | None:
    """The number's line type, if it was looked up within max_age_days."""
    return await db.fetchval(QUERIES.find_line_type, phone, max_age_days)


async def store_line_type(db: Executor, *, phone: str, line_type: str, source: str, carrier_name: str | None) -> None:
    """Keep (or refresh) what the lookup named source said."""
    await db.execute(QUERIES.store_line_type, phone, line_type, source, carrier_name)


async def forget_line_type(db: Executor, *, phone: str) -> int:
    """Drop the phone's cached answer (an erasure); returns how many rows went (0 or 1)."""
    return await db.fetchval(QUERIES.forget_line_type, phone)
