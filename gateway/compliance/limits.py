"""Daily (ramp-up) and monthly segment limits: atomic counters in Redis, mirrored in Postgres, reset daily.

Redis keys share the community's hash tag, so one script sees both counters on Redis Cluster:
  gw:{c:ID}:day:YYYY-MM-DD   segments reserved on the community's local day
  gw:{c:ID}:month:YYYY-MM    segments reserved in its local month
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo

import structlog
from redis.exceptions import RedisError

from gateway.storage.batching import script_on
from gateway.context import Context
from gateway.storage.db import QUERIES
from gateway.storage.fallback import AWAY, from_redis

log = structlog.get_logger(__name__)

# KEYS: day, month, and the sends in flight counted into each when Redis lost it (id -> segments; see _load).
# ARGV: segments, daily limit, monthly limit (-1: none), 1 to pass the monthly limit, ttl, message id.
# "missing" when Redis lost a counter: the caller loads it from Postgres and asks again. A message counted in
# flight by that load had not reserved: its share comes out first, and it is judged like any other.
RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then return 'missing' end
for i = 1, 2 do
  local counted = redis.call('HGET', KEYS[i + 2], ARGV[6])
  if counted then
    redis.call('HDEL', KEYS[i + 2], ARGV[6])
    redis.call('DECRBY', KEYS[i], counted)
  end
end
local n, daily, monthly = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if tonumber(redis.call('GET', KEYS[1])) + n > daily then return 'daily_limit' end
if monthly >= 0 and ARGV[4] == '0' and tonumber(redis.call('GET', KEYS[2])) + n > monthly then
  return 'monthly_limit'
end
redis.call('INCRBY', KEYS[1], n)
redis.call('INCRBY', KEYS[2], n)
return 'ok'
"""

# KEYS: day, month, in flight for each. ARGV: segments, message id. A reservation the carrier never used is
# given back; a send counted in flight by a load is no longer in flight.
REFUND = """
for i = 1, 2 do
  redis.call('HDEL', KEYS[i + 2], ARGV[2])
  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[1]) then redis.call('DECRBY', KEYS[i], ARGV[1]) end
end
return 1
"""

# KEYS: day, month, in flight for each. ARGV: day value, month value, day ttl, month ttl, then id, segments...
# Each counter is set only if missing, and only then are the sends in flight recorded as counted in it.
LOAD = """
for i = 1, 2 do
  if redis.call('SET', KEYS[i], ARGV[i], 'NX', 'EX', ARGV[i + 2]) then
    for j = 5, #ARGV, 2 do redis.call('HSET', KEYS[i + 2], ARGV[j], ARGV[j + 1]) end
    if #ARGV >= 5 then redis.call('EXPIRE', KEYS[i + 2], ARGV[i + 2]) end
  end
end
return 1
"""


def daily_limit(level: int, levels: list[int], ceiling: int) -> int:
    """Levels in order, then the ceiling: level len(levels) + 1 is the last."""
    return levels[level - 1] if level <= len(levels) else ceiling


def local_periods(tz: str, now: datetime | None = None) -> tuple[date, date]:
    """The community's local day and the first day of its local month."""
    today = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(tz)).date()
    return today, today.replace(day=1)


def periods(row: Mapping[str, Any]) -> tuple[date, date]:
    """The day a community's sends count on, and its month: the day it was last reset into (current_day), not
    the date its time zone shows now, so a change of time zone neither starts a day nor clears its count."""
    day = row["current_day"] or local_periods(row["timezone"])[0]
    return day, day.replace(day=1)


MIN_DAY = timedelta(hours=23)  # a local day with a spring-forward hour; see reset_daily_limits.sql


def next_reset(tz: str, now: datetime | None = None, current_day: date | None = None,
               day_started_at: datetime | None = None) -> datetime | None:
    """When the daily reset will start the next day, in UTC (None for a time zone Python cannot load).

    The rule of reset_daily_limits.sql: the first local midnight, in tz, that begins a date after current_day
    and comes at least 23 hours after day_started_at (the midnight that began current_day). Without
    current_day, the coming local midnight.
    """
    try:
        zone = ZoneInfo(tz)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError; a folder name, an OSError
        return None
    now = now or datetime.now(timezone.utc)
    day = now.astimezone(zone).date() + timedelta(days=1)
    if current_day is not None:
        day = max(day, current_day + timedelta(days=1))
    while True:
        midnight = datetime.combine(day, datetime.min.time(), zone).astimezone(timezone.utc)
        if day_started_at is None or midnight >= day_started_at + MIN_DAY:
            return midnight
        day += timedelta(days=1)


def keys(community_id: int, day: date) -> list[str]:
    """The day's and month's counters, then the sends in flight counted into each by a reload."""
    tag, month = f"gw:{{c:{community_id}}}", f"{day:%Y-%m}"
    return [f"{tag}:day:{day.isoformat()}", f"{tag}:month:{month}", f"{tag}:inflight:day:{day.isoformat()}",
            f"{tag}:inflight:month:{month}"]


async def reserve(ctx: Context, row: Mapping[str, Any]) -> str | None:
    """Reserve the message's segments in its day's and month's counters; the reason it must wait, if any."""
    day, month = periods(row)
    counters = keys(row["community_id"], day)
    limit = daily_limit(row["daily_level"], row["levels"], row["ceiling"])
    monthly = -1 if row["monthly_limit"] is None else row["monthly_limit"]
    args = [row["segments"], limit, monthly, int(row["limit_override"]), 40 * 86400, row["id"]]
    script = ctx.redis.register_script(RESERVE)
    for _ in range(2):
        [verdict] = await ctx.statements.redis.execute(lambda pipe: script_on(pipe, script, counters, args))
        if verdict != "missing":
            return None if verdict == "ok" else verdict
        await _load(ctx, row["community_id"], day, month, counters)
    raise RedisError("counters vanished twice while reserving")


async def _load(ctx: Context, community_id: int, day: date, month: date, counters: list[str]) -> None:
    """Counters Redis does not have start from the Postgres mirror, plus the sends in flight when Redis lost
    them (load_usage_counters.sql), so a Redis loss never lowers them. Set before the commit of the row lock
    that serialises loads: a concurrent load waits, then its SET NX finds them."""
    async with ctx.pool.acquire() as conn, conn.transaction():
        used = await conn.fetchrow(QUERIES.load_usage_counters, community_id, day, month)
        in_flight = [v for pair in zip(used["ids"] or [], used["id_segments"] or []) for v in pair]
        await ctx.redis.register_script(LOAD)(keys=counters, args=[used["day"], used["month"], 3 * 86400,
                                                                   40 * 86400, *in_flight])


async def refund(ctx: Context, row: Mapping[str, Any]) -> None:
    """Give back a reservation the carrier did not use, to the counters it was taken from."""
    day, _ = periods(row)
    await ctx.redis.register_script(REFUND)(keys=keys(row["community_id"], day), args=[row["segments"], row["id"]])


async def used(ctx: Context, community: Mapping[str, Any]) -> tuple[int, int]:
    """Segments used on the community's day and in its month: Redis, or the Postgres mirror when Redis cannot
    say."""
    day, month = periods(community)
    values = await from_redis(ctx.metrics, "limits", ctx.redis.mget(keys(community["id"], day)[:2]))
    if values is not AWAY and None not in values:
        return int(values[0]), int(values[1])
    row = await ctx.pool.fetchrow(QUERIES.find_usage, community["id"], day, month)
    return row["day"], row["month"]


async def reset_days(ctx: Context) -> int:
    """Start a new day for every community whose day ended; release what waited for it.

    One community's failure (a time zone Postgres refuses, a release that fails) is logged and counted, and
    the others go on.
    """
    config = ctx.config.limits
    rows = await ctx.pool.fetch(QUERIES.reset_daily_limits, config.daily_levels, config.daily_ceiling)
    reset = 0
    for row in rows:
        if row["skipped"]:
            ctx.metrics.rows_skipped.labels("daily_reset").inc()
            log.warning("daily_reset_skipped", community_id=row["id"], reason="time_zone_unusable")
            continue
        reset += 1
        if row["level_up"]:
            log.info("daily_level_raised", community_id=row["id"], level=row["daily_level"])
        try:
            await release(ctx, row["id"], "daily_limit")
        except Exception:
            # Those already set queued are re-queued by the sweep; any still held wait for the next reset.
            ctx.metrics.rows_skipped.labels("daily_reset").inc()
            log.exception("daily_release_failed", community_id=row["id"])
    return reset


async def release(ctx: Context, community_id: int, reason: str, ids: list[int] | None = None,
                  override: bool = False) -> list[int]:
    """Held messages back into the queue, oldest first; returns their ids."""
    rows = await ctx.pool.fetch(QUERIES.release_held_messages, community_id, reason, ids, override)
    for row in rows:
        await ctx.queue(row["id"], row["priority"], row["from_number"], row["segments"])
    if rows:
        log.info("held_messages_released", community_id=community_id, reason=reason, count=len(rows))
    return [row["id"] for row in rows]


async def cancel(ctx: Context, community_id: int, reason: str, ids: list[int] | None = None) -> list[int]:
    rows = await ctx.pool.fetch(QUERIES.cancel_held_messages, community_id, reason, ids)
    if rows:
        log.info("held_messages_canceled", community_id=community_id, reason=reason, count=len(rows))
    return [row["id"] for row in rows]
