"""The time zones a community may use: names that both Postgres and Python's zoneinfo know.

Python loads names Postgres refuses ("right/UTC", "posix/America/New_York", "posixrules", "localtime" are
files in the tz database, but Postgres answers 'time zone ... not recognized'), and the two may ship different
tz database versions. The daily reset runs in Postgres and the counters' periods in Python, so a name must
work in both: the intersection of pg_timezone_names and zoneinfo.available_timezones().
"""

from __future__ import annotations

import zoneinfo

from gateway.errors import InvalidInput
from gateway.storage import usage
from gateway.storage.db import Executor

# Loaded once per process: the server's tz database changes only with a Postgres upgrade (and restart).
_usable: frozenset[str] | None = None


async def usable(db: Executor) -> frozenset[str]:
    global _usable
    if _usable is None:
        _usable = frozenset(await usage.list_time_zones(db) & zoneinfo.available_timezones())
    return _usable


async def check(db: Executor, value: str, name: str) -> str:
    """value when both Postgres and zoneinfo can use it; InvalidInput (422) otherwise."""
    if value not in await usable(db):
        raise InvalidInput("invalid_field", f"{name}: expected an IANA time zone both Postgres and Python know, "
                                            "like America/New_York")
    return value
