"""Daily (ramp-up) and monthly segment limits: atomic counters in Redis, mirrored in Postgres, reset daily.

Redis keys share the community's hash tag, so one script sees both counters on Redis Cluster:
  gw:{c:ID}:day:YYYY-MM-DD   segments reserved on the community's local day
  gw:{c:ID}:month:YYYY-MM    segments reserved in its local month
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import asyncpg
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from gateway.config import LimitsSettings
from gateway.messaging.dispatch import Dispatcher
from gateway.ops.metrics import Metrics
from gateway.storage import held, usage
from gateway.storage.batching import Pipelined, script_on
from gateway.storage.communities import Community
from gateway.storage.db import Executor
from gateway.storage.fallback import AWAY, from_redis
from gateway.vocabulary import HoldReason

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


def periods(current_day: date | None, tz: str) -> tuple[date, date]:
    """The day a community's sends count on, and its month: the day it was last reset into (current_day), not
    the date its time zone tz shows now, so a change of time zone neither starts a day nor clears its count."""
    day = current_day or local_periods(tz)[0]
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


DAY_TTL = 3 * 86400  # seconds a day's counter outlives its day
MONTH_TTL = 40 * 86400  # and a month's, its month


@dataclass(frozen=True, slots=True)
class Reservation:
    """One send's share of its community's counters."""

    message_id: int
    community_id: int
    segments: int
    day: date  # the day it counts on (periods())
    daily_limit: int  # segments (daily_limit())
    monthly_limit: int | None  # segments; None: no monthly limit
    override: bool  # released from the review queue: it may pass the monthly limit


@dataclass(frozen=True)
class Counters:
    """The per-community segment counters in Redis, with their Postgres mirror to load from."""

    redis: aioredis.Redis
    pipeline: Pipelined  # the reservation goes out with whatever else this moment sends to Redis
    pool: asyncpg.Pool
    metrics: Metrics

    async def reserve(self, send: Reservation) -> HoldReason | None:
        """Reserve the send's segments in its day's and month's counters; the reason it must wait, if any.
        Raises RedisError when Redis cannot answer."""
        counters = keys(send.community_id, send.day)
        monthly = -1 if send.monthly_limit is None else send.monthly_limit
        args = [send.segments, send.daily_limit, monthly, int(send.override), MONTH_TTL, send.message_id]
        script = self.redis.register_script(RESERVE)
        for _ in range(2):
            [verdict] = await self.pipeline.execute(lambda pipe: script_on(pipe, script, counters, args))
            if verdict != "missing":
                return None if verdict == "ok" else HoldReason(verdict)
            await self._load(send.community_id, send.day, counters)
        raise RedisError("counters vanished twice while reserving")

    async def _load(self, community_id: int, day: date, counters: list[str]) -> None:
        """Counters Redis does not have start from the Postgres mirror, plus the sends in flight when Redis lost
        them (load_usage_counters.sql), so a Redis loss never lowers them. Set before the commit of the row lock
        that serialises loads: a concurrent load waits, then its SET NX finds them."""
        async with self.pool.acquire() as conn, conn.transaction():
            start = await usage.load_counters(conn, community_id=community_id, day=day, month=day.replace(day=1))
            in_flight = [value for send in start.in_flight for value in (send.message_id, send.segments)]
            await self.redis.register_script(LOAD)(keys=counters, args=[start.day, start.month, DAY_TTL, MONTH_TTL,
                                                                        *in_flight])

    async def refund(self, send: Reservation) -> None:
        """Give back a reservation the carrier did not use, to the counters it was taken from."""
        await self.redis.register_script(REFUND)(keys=keys(send.community_id, send.day),
                                                 args=[send.segments, send.message_id])

    async def used(self, community: Community) -> usage.Usage:
        """Segments used on the community's day and in its month: Redis, or the Postgres mirror when Redis
        cannot say."""
        day, month = periods(community.current_day, community.timezone)
        values = await from_redis(self.metrics, "limits", self.redis.mget(keys(community.id, day)[:2]))
        if values is not AWAY and None not in values:
            return usage.Usage(int(values[0]), int(values[1]))
        return await usage.find_usage(self.pool, community_id=community.id, day=day, month=month)


async def reset_days(pool: asyncpg.Pool, dispatcher: Dispatcher, metrics: Metrics, config: LimitsSettings) -> int:
    """Start a new day for every community whose day ended; release what waited for it.

    One community's failure (a time zone Postgres refuses, a release that fails) is logged and counted, and
    the others go on.
    """
    resets = await usage.reset_daily_limits(pool, daily_levels=config.daily_levels,
                                            daily_ceiling=config.daily_ceiling)
    done = 0
    for reset in resets:
        if reset.skipped:
            metrics.rows_skipped.labels("daily_reset").inc()
            log.warning("daily_reset_skipped", community_id=reset.community_id, reason="time_zone_unusable")
            continue
        done += 1
        if reset.level_up:
            log.info("daily_level_raised", community_id=reset.community_id, level=reset.daily_level)
        try:
            await release(pool, dispatcher, community_id=reset.community_id, reason=HoldReason.DAILY_LIMIT)
        except Exception:
            # Those already set queued are re-queued by the sweep; any still held wait for the next reset.
            metrics.rows_skipped.labels("daily_reset").inc()
            log.exception("daily_release_failed", community_id=reset.community_id)
    return done


async def release(db: Executor, dispatcher: Dispatcher, *, community_id: int, reason: HoldReason,
                  ids: list[int] | None = None, override: bool = False) -> list[int]:
    """Held messages (ids None: all of them) back into the queue, oldest first; returns their ids. override:
    they may pass the monthly limit."""
    released = await held.release_held(db, community_id=community_id, reason=reason, ids=ids, override=override)
    for message in released:
        await dispatcher.queue(message.id, message.priority, message.from_number, message.segments)
    if released:
        log.info("held_messages_released", community_id=community_id, reason=reason, count=len(released))
    return [message.id for message in released]


async def cancel(db: Executor, *, community_id: int, reason: HoldReason, ids: list[int] | None = None) -> list[int]:
    """Held messages (ids None: all of them) canceled; returns their ids."""
    canceled = await held.cancel_held(db, community_id=community_id, reason=reason, ids=ids)
    if canceled:
        log.info("held_messages_canceled", community_id=community_id, reason=reason, count=len(canceled))
    return canceled
