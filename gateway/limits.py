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

from gateway.batching import script_on
from gateway.context import Context
from gateway.db import QUERIES

log = structlog.get_logger(__name__)

# KEYS: day, month. ARGV: segments, daily limit, monthly limit (-1: none), 1 to pass the monthly limit, ttl.
# "missing" when Redis lost a counter: the caller loads it from Postgres and asks again.
RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then return 'missing' end
local n, daily, monthly = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if tonumber(redis.call('GET', KEYS[1])) + n > daily then return 'daily_limit' end
if monthly >= 0 and ARGV[4] == '0' and tonumber(redis.call('GET', KEYS[2])) + n > monthly then
  return 'monthly_limit'
end
redis.call('INCRBY', KEYS[1], n)
redis.call('INCRBY', KEYS[2], n)
return 'ok'
"""

# KEYS: day, month. ARGV: segments. A reservation the carrier never used is given back.
REFUND = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[1]) then redis.call('DECRBY', key, ARGV[1]) end
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


def next_reset(tz: str, now: datetime | None = None) -> datetime:
    """The coming local midnight, in UTC."""
    zone = ZoneInfo(tz)
    today, _ = local_periods(tz, now)
    return datetime.combine(today + timedelta(days=1), datetime.min.time(), zone).astimezone(timezone.utc)


def keys(community_id: int, tz: str) -> list[str]:
    day, month = local_periods(tz)
    return [f"gw:{{c:{community_id}}}:day:{day.isoformat()}", f"gw:{{c:{community_id}}}:month:{month:%Y-%m}"]


async def reserve(ctx: Context, row: Mapping[str, Any]) -> str | None:
    """Reserve the message's segments in today's and this month's counters; the reason it must wait, if any."""
    counters = keys(row["community_id"], row["timezone"])
    limit = daily_limit(row["daily_level"], row["levels"], row["ceiling"])
    monthly = -1 if row["monthly_limit"] is None else row["monthly_limit"]
    args = [row["segments"], limit, monthly, int(row["limit_override"]), 40 * 86400]
    script = ctx.redis.register_script(RESERVE)
    for _ in range(2):
        [verdict] = await ctx.statements.redis.execute(lambda pipe: script_on(pipe, script, counters, args))
        if verdict != "missing":
            return None if verdict == "ok" else verdict
        await _load(ctx, row["community_id"], row["timezone"], counters)
    raise RedisError("counters vanished twice while reserving")


async def _load(ctx: Context, community_id: int, tz: str, counters: list[str]) -> None:
    """Counters Redis does not have start from the Postgres mirror, so a Redis loss never resets them to zero."""
    day, month = local_periods(tz)
    used = await ctx.pool.fetchrow(QUERIES.find_usage, community_id, day, month)
    async with ctx.redis.pipeline(transaction=False) as pipe:
        pipe.set(counters[0], used["day"], nx=True, ex=3 * 86400)
        pipe.set(counters[1], used["month"], nx=True, ex=40 * 86400)
        await pipe.execute()


async def refund(ctx: Context, row: Mapping[str, Any]) -> None:
    await ctx.redis.register_script(REFUND)(keys=keys(row["community_id"], row["timezone"]), args=[row["segments"]])


async def used(ctx: Context, community_id: int, tz: str) -> tuple[int, int]:
    """Segments used today and this month: Redis, or the Postgres mirror when Redis cannot say."""
    try:
        values = await ctx.redis.mget(keys(community_id, tz))
        if None not in values:
            return int(values[0]), int(values[1])
    except RedisError:
        ctx.metrics.redis_fallbacks.labels("limits").inc()
    day, month = local_periods(tz)
    row = await ctx.pool.fetchrow(QUERIES.find_usage, community_id, day, month)
    return row["day"], row["month"]


async def reset_days(ctx: Context) -> int:
    """Start a new day for every community whose local day ended; release what waited for it."""
    config = ctx.config.limits
    reset = await ctx.pool.fetch(QUERIES.reset_daily_limits, config.daily_levels, config.daily_ceiling)
    for row in reset:
        if row["level_up"]:
            log.info("daily_level_raised", community_id=row["id"], level=row["daily_level"])
        await release(ctx, row["id"], "daily_limit")
    return len(reset)


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
