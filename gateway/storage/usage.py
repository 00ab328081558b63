"""Usage: the durable mirror of each community's segment counters, its daily periods, and the time zones
Postgres knows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from gateway.storage.db import QUERIES, Executor
from gateway.vocabulary import UsageUnit


@dataclass(frozen=True, slots=True)
class Usage:
    """What one unit counted on a day and in a month (SMS segments, MMS or WhatsApp messages)."""

    day: int
    month: int


@dataclass(frozen=True, slots=True)
class InFlight:
    """A send that reserved in a counter Redis lost and is not yet accepted (so not yet mirrored)."""

    message_id: int
    segments: int  # its share of the unit: an SMS's segments, 1 for an MMS or a WhatsApp message


@dataclass(frozen=True, slots=True)
class CounterStart:
    """What Redis counters start from: the mirror plus the sends in flight (counted in day and month)."""

    day: int
    month: int
    in_flight: list[InFlight]


@dataclass(frozen=True, slots=True)
class DayReset:
    """A community whose day ended (reset_daily_limits.sql)."""

    community_id: int
    daily_level: int  # after the reset
    level_up: bool  # it sent its whole limit on the day that ended, and moved up a level
    skipped: bool  # its time zone is one Postgres cannot use: nothing was reset


async def find_usage(db: Executor, *, community_id: int, day: date, month: date) -> dict[UsageUnit, Usage]:
    """What is mirrored for the community's day and month (month: its first day), for every unit."""
    found = {row["unit"]: Usage(row["day"], row["month"])
             for row in await db.fetch(QUERIES.find_usage, community_id, day, month)}
    return {unit: found.get(unit, Usage(0, 0)) for unit in UsageUnit}


async def load_counters(db: Executor, *, community_id: int, unit: UsageUnit, day: date,
                        month: date) -> CounterStart:
    """What unit's counters of day and month start from; locks the community row until the caller's transaction
    ends (run it in one: see load_usage_counters.sql)."""
    row = await db.fetchrow(QUERIES.load_usage_counters, community_id, day, month, unit.value)
    in_flight = [InFlight(message_id, segments)
                 for message_id, segments in zip(row["ids"] or [], row["id_segments"] or [], strict=True)]
    return CounterStart(row["day"], row["month"], in_flight)


async def reset_daily_limits(db: Executor, *, daily_levels: list[int], daily_ceiling: int) -> list[DayReset]:
    """Start a new day for every community whose day ended (levels and ceiling: the configured defaults)."""
    rows = await db.fetch(QUERIES.reset_daily_limits, daily_levels, daily_ceiling)
    return [DayReset(row["id"], row["daily_level"], row["level_up"], row["skipped"]) for row in rows]


async def list_time_zones(db: Executor) -> set[str]:
    """Every time zone name this Postgres server accepts."""
    return {row["name"] for row in await db.fetch(QUERIES.list_time_zones)}
