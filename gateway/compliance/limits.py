"""Daily and monthly limits per unit (vocabulary.UsageUnit): atomic counters in Redis, mirrored in Postgres, reset
daily. SMS segments have the daily ramp-up and the monthly limit; MMS and WhatsApp messages, priced apart, their
own daily and monthly limits (the community's, or the gateway's).

Redis keys share the community's hash tag, so one script sees every counter on Redis Cluster:
  gw:{c:ID}:day:YYYY-MM-DD        SMS segments reserved on the community's local day
  gw:{c:ID}:month:YYYY-MM         and in its local month
  gw:{c:ID}:mms:day:YYYY-MM-DD    MMS messages (and gw:{c:ID}:whatsapp:..., WhatsApp messages), likewise
"""

from __future__ import annotations

import asyncio
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
from gateway.routing.connect import script_on
from gateway.storage.batching import Pipelined
from gateway.storage.communities import Community
from gateway.storage.db import Executor
from gateway.storage.messages import SendingMessage
from gateway.storage.fallback import AWAY, from_redis
from gateway.vocabulary import HoldReason, UsageUnit

log = structlog.get_logger(__name__)

# KEYS: the unit's day and month, then (counter, sends in flight counted into it when Redis lost it: id -> share;
# see _load) for every unit's day and month. ARGV: the share (segments, or 1), daily limit (-1: none), monthly
# limit (-1: none), 1 to pass the monthly limit, ttl, message id.
# "missing" when Redis lost a counter: the caller loads it from Postgres and asks again. A message counted in
# flight by a load had not reserved: its share comes out first (of whichever unit's counter it was counted in),
# and it is judged like any other.
RESERVE = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('EXISTS', KEYS[2]) == 0 then return 'missing' end
for i = 3, #KEYS, 2 do
  local counted = redis.call('HGET', KEYS[i + 1], ARGV[6])
  if counted then
    redis.call('HDEL', KEYS[i + 1], ARGV[6])
    if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('DECRBY', KEYS[i], counted) end
  end
end
local n, daily, monthly = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if daily >= 0 and tonumber(redis.call('GET', KEYS[1])) + n > daily then return 'daily_limit' end
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


def keys(community_id: int, day: date, unit: UsageUnit = UsageUnit.SMS_SEGMENT) -> list[str]:
    """The unit's day and month counters, then the sends in flight counted into each by a reload. SMS keeps the
    names it had before units (a running gateway's counters stay valid across the upgrade)."""
    tag, month = f"gw:{{c:{community_id}}}", f"{day:%Y-%m}"
    if unit != UsageUnit.SMS_SEGMENT:
        tag = f"{tag}:{unit.value}"
    return [f"{tag}:day:{day.isoformat()}", f"{tag}:month:{month}", f"{tag}:inflight:day:{day.isoformat()}",
            f"{tag}:inflight:month:{month}"]


def reserve_keys(community_id: int, day: date, unit: UsageUnit) -> list[str]:
    """RESERVE's keys: the unit's counters, then each unit's (counter, in flight) pairs."""
    pairs = []
    for each in UsageUnit:
        day_key, month_key, day_flight, month_flight = keys(community_id, day, each)
        pairs += [day_key, day_flight, month_key, month_flight]
    return keys(community_id, day, unit)[:2] + pairs


DAY_TTL = 3 * 86400  # seconds a day's counter outlives its day
MONTH_TTL = 40 * 86400  # and a month's, its month


@dataclass(frozen=True, slots=True)
class Reservation:
    """One send's share of its community's counters."""

    message_id: int
    community_id: int
    segments: int  # its share of the unit: an SMS's segments; 1 for an MMS or a WhatsApp message
    day: date  # the day it counts on (periods())
    daily_limit: int | None  # in the unit (SMS: daily_limit()); None: none
    monthly_limit: int | None  # in the unit; None: no monthly limit
    override: bool  # released from the review queue: it may pass the monthly limit
    unit: UsageUnit = UsageUnit.SMS_SEGMENT


def reservation(config: LimitsSettings, message: SendingMessage, unit: UsageUnit) -> Reservation:
    """The send's share of its community's counters of unit, on the community's current day: SMS segments under
    the ramp-up and the monthly limit; one MMS or WhatsApp message under that unit's own limits (the community's,
    else the gateway's)."""
    day, _ = periods(message.current_day, message.timezone)
    if unit == UsageUnit.SMS_SEGMENT:
        return Reservation(message.id, message.community_id, message.segments, day,
                           daily_limit(message.daily_level, message.levels, message.ceiling),
                           message.monthly_limit, message.limit_override)
    own = message.unit_limits[:2] if unit == UsageUnit.MMS else message.unit_limits[2:]
    gateway = ((config.mms_daily_limit, config.mms_monthly_limit) if unit == UsageUnit.MMS
               else (config.whatsapp_daily_limit, config.whatsapp_monthly_limit))
    daily, monthly = (mine if mine is not None else default for mine, default in zip(own, gateway))
    return Reservation(message.id, message.community_id, 1, day, daily, monthly, message.limit_override, unit)


@dataclass(frozen=True)
class Counters:
    """The per-community counters of each unit in Redis, with their Postgres mirror to load from."""

    redis: aioredis.Redis
    pipeline: Pipelined  # the reservation goes out with whatever else this moment sends to Redis
    pool: asyncpg.Pool
    metrics: Metrics

    async def reserve(self, send: Reservation) -> HoldReason | None:
        """Reserve the send's share in its unit's day and month counters; the reason it must wait, if any.
        Raises RedisError when Redis cannot answer."""
        counters = reserve_keys(send.community_id, send.day, send.unit)
        daily, monthly = (-1 if limit is None else limit for limit in (send.daily_limit, send.monthly_limit))
        args = [send.segments, daily, monthly, int(send.override), MONTH_TTL, send.message_id]
        script = self.redis.register_script(RESERVE)
        for _ in range(2):
            [verdict] = await self.pipeline.execute(lambda pipe: script_on(pipe, script, counters, args))
            if verdict != "missing":
                return None if verdict == "ok" else HoldReason(verdict)
            await self._load(send.community_id, send.day, send.unit)
        raise RedisError("counters vanished twice while reserving")

    async def _load(self, community_id: int, day: date, unit: UsageUnit) -> None:
        """Counters Redis does not have start from the Postgres mirror, plus the sends in flight when Redis lost
        them (load_usage_counters.sql), so a Redis loss never lowers them. Set before the commit of the row lock
        that serialises loads: a concurrent load waits, then its SET NX finds them. One unit's at a time."""
        counters = keys(community_id, day, unit)
        async with self.pool.acquire() as conn, conn.transaction():
            start = await usage.load_counters(conn, community_id=community_id, unit=unit, day=day,
                                              month=day.replace(day=1))
            in_flight = [value for send in start.in_flight for value in (send.message_id, send.segments)]
            await self.redis.register_script(LOAD)(keys=counters, args=[start.day, start.month, DAY_TTL, MONTH_TTL,
                                                                        *in_flight])

    async def refund(self, send: Reservation) -> None:
        """Give back a reservation the carrier did not use, to the counters it was taken from."""
        await self.redis.register_script(REFUND)(keys=keys(send.community_id, send.day, send.unit),
                                                 args=[send.segments, send.message_id])

    async def used(self, community: Community) -> dict[UsageUnit, usage.Usage]:
        """What each unit used on the community's day and in its month: Redis, or the Postgres mirror for the units
        Redis cannot say (away, or a unit's counters not loaded yet today)."""
        day, month = periods(community.current_day, community.timezone)
        names = [name for unit in UsageUnit for name in keys(community.id, day, unit)[:2]]
        values = await from_redis(self.metrics, "limits", self.redis.mget(names))
        in_redis = {} if values is AWAY else {
            unit: usage.Usage(int(values[2 * i]), int(values[2 * i + 1]))
            for i, unit in enumerate(UsageUnit) if values[2 * i] is not None and values[2 * i + 1] is not None}
        if len(in_redis) == len(UsageUnit):
            return in_redis
        return await usage.find_usage(self.pool, community_id=community.id, day=day, month=month) | in_redis


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
    # At once (pipelined) and never twice: the sweeper may queue a released row before this loop reaches it.
    await asyncio.gather(*(dispatcher.requeue(message.id, message.priority, message.from_number, message.segments)
                           for message in released))
    if released:
        log.info("held_messages_released", community_id=community_id, reason=reason, count=len(released))
    return [message.id for message in released]


async def cancel(db: Executor, *, community_id: int, reason: HoldReason, ids: list[int] | None = None) -> list[int]:
    """Held messages (ids None: all of them) canceled; returns their ids."""
    canceled = await held.cancel_held(db, community_id=community_id, reason=reason, ids=ids)
    if canceled:
        log.info("held_messages_canceled", community_id=community_id, reason=reason, count=len(canceled))
    return canceled
