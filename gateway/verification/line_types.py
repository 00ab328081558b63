"""Line-type lookups behind one interface (offline here; twilio's and the sandbox's in their carrier modules),
cached in Redis and Postgres."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
import redis.asyncio as aioredis
import structlog

from gateway import carriers
from gateway.carriers import LineAnswer as Answer, LineTypeLookup, LookupFailed, NotANumber
from gateway.config import Config, LineTypeLookupSettings
from gateway.ops.metrics import Metrics
from gateway.storage import line_types as cache
from gateway.storage.fallback import AWAY, from_redis
from gateway.ops.logs import clip
from gateway.relay.phones import mask
from gateway.vocabulary import LineType

log = structlog.get_logger(__name__)

CACHE_PREFIX = "gw:linetype:"


class OfflineLookup:
    """No service: what phonenumbers could not decide stays "unknown"."""

    name = "offline"

    async def lookup(self, e164: str) -> Answer:
        return Answer("unknown")


def create(config: Config, session: aiohttp.ClientSession) -> LineTypeLookup:
    """The lookup LINE_TYPE_LOOKUP names: offline here, any other is the carrier module of that name's."""
    if config.line_type_lookup == "offline":
        return OfflineLookup()
    return carriers.lookup(config.line_type_lookup, config, session)


__all__ = ["Answer", "LineTypes", "LineTypeLookup", "LookupFailed", "NotANumber", "OfflineLookup", "create"]


class LineTypes:
    """A number is looked up once, then answered from Redis, or from Postgres for cache_days."""

    def __init__(self, lookup: LineTypeLookup, pool: asyncpg.Pool, redis: aioredis.Redis, metrics: Metrics,
                 config: LineTypeLookupSettings) -> None:
        self.service = lookup
        self.pool = pool
        self.redis = redis
        self.metrics = metrics
        self.timeout = config.timeout
        self.cache_days = config.cache_days

    async def line_type(self, e164: str) -> LineType:
        """The number's line type; UNKNOWN when the service fails or times out (counted, not cached). Raises
        NotANumber when the service says the number does not exist."""
        cached = await self._from_redis(e164)
        if cached:
            self.metrics.line_type_lookups.labels("redis").inc()
            return LineType(cached)
        stored = await cache.find_line_type(self.pool, phone=e164, max_age_days=self.cache_days)
        if stored:
            self.metrics.line_type_lookups.labels("postgres").inc()
            await self._to_redis(e164, stored)
            return LineType(stored)
        try:
            async with asyncio.timeout(self.timeout):
                answer = await self.service.lookup(e164)
        except TimeoutError:
            self.metrics.line_type_lookups.labels("timeout").inc()
            log.warning("line_type_lookup_timed_out", phone=mask(e164), lookup=self.service.name)
            return LineType.UNKNOWN
        except LookupFailed as exc:
            self.metrics.line_type_lookups.labels("error").inc()
            log.warning("line_type_lookup_failed", phone=mask(e164), lookup=self.service.name, error=clip(exc, 120))
            return LineType.UNKNOWN
        self.metrics.line_type_lookups.labels("lookup").inc()
        await cache.store_line_type(self.pool, phone=e164, line_type=answer.line_type, source=self.service.name,
                                    carrier_name=answer.carrier_name)
        await self._to_redis(e164, answer.line_type)
        return LineType(answer.line_type)

    async def forget_cached(self, e164: str) -> None:
        """Drop the number's answer from Redis (an erasure; Postgres's row goes in the erasure's transaction). With
        Redis away it stays there until it expires (lookup.cache_days)."""
        await from_redis(self.metrics, "line_type", self.redis.delete(CACHE_PREFIX + e164), phone=mask(e164))

    async def _from_redis(self, e164: str) -> str | None:
        cached = await from_redis(self.metrics, "line_type", self.redis.get(CACHE_PREFIX + e164), phone=mask(e164))
        return None if cached is AWAY else cached

    async def _to_redis(self, e164: str, line_type: str) -> None:
        await from_redis(self.metrics, "line_type", self.redis.set(CACHE_PREFIX + e164, line_type,
                                                                   ex=self.cache_days * 86400), phone=mask(e164))
