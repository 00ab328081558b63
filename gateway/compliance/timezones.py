"""The time zones a community may use: names that both Postgres and Python's zoneinfo know.

Python loads names Postgres refuses ("right/UTC", "posix/America/New_York", "posixrules", "localtime" are
files in the tz database, but Postgres answers 'time zone ... not recognized'), and the two may ship different
tz database versions. The daily reset runs in Postgres and the counters' periods in Python, so a name must
work in both: the intersection of pg_timezone_names and zoneinfo.available_timezones().
"""

from __future__ import annotations

import zoneinfo

import asyncpg

from gateway.storage.db import QUERIES
from gateway.errors import InvalidInput

# Loaded once per process: the server's tz database changes only with a Postgres upgrade (and restart).
_usable: frozenset[str] | None = None


async def usable(pool: asyncpg.Pool) -> frozenset[str]:
    global _usable
    if _usable is None:
        names = {row["name"] for row in await pool.fetch(QUERIES.list_time_zones)}
        _usable = frozenset(names & zoneinfo.available_timezones())
    return _usable


async def check(pool: asyncpg.Pool, value: str, name: str) -> str:
    """value when both Postgres and zoneinfo can use it; InvalidInput (422) otherwise."""
    if value not in await usable(pool):
        raise InvalidInput("invalid_field", f"{name}: expected an IANA time zone both Postgres and Python know, "
                                            "like America/New_York")
    return value
