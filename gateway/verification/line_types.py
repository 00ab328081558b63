"""Line-type lookups behind one interface (offline here; twilio's and the sandbox's in their carrier modules),
cached in Redis and Postgres."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from gateway import carriers
from gateway.carriers import LineAnswer as Answer, Lookup, LookupFailed, NotANumber
from gateway.config import Config
from gateway.storage.db import QUERIES
from gateway.ops.metrics import Metrics
from gateway.ops.logs import clip
from gateway.relay.phones import mask

log = structlog.get_logger(__name__)

CACHE_PREFIX = "gw:linetype:"


class OfflineLookup:
    """No service: what phonenumbers could not decide stays "unknown"."""

    name = "offline"

    async def lookup(self, e164: str) -> Answer:
        return Answer("unknown")


def create(config: Config, session: aiohttp.ClientSession) -> Lookup:
    """The lookup LINE_TYPE_LOOKUP names: offline here, any other is the carrier module of that name's."""
    if config.line_type_lookup == "offline":
        return OfflineLookup()
    return carriers.lookup(config.line_type_lookup, config, session)


__all__ = ["Answer", "LineTypes", "Lookup", "LookupFailed", "NotANumber", "OfflineLookup", "create"]


class LineTypes:
    """A number is looked up once, then answered from Redis, or from Postgres for cache_days."""

    def __init__(self, lookup: Lookup, pool: asyncpg.Pool, redis: aioredis.Redis, metrics: Metrics,
                 config: Config) -> None:
        self.service = lookup
        self.pool = pool
        self.redis = redis
        self.metrics = metrics
        self.timeout = config.lookup.timeout
        self.cache_days = config.lookup.cache_days

    async def line_type(self, e164: str) -> str:
        """The number's line type; "unknown" when the service fails or times out (counted, not cached)."""
        cached = await self._from_redis(e164)
        if cached:
            self.metrics.line_type_lookups.labels("redis").inc()
            return cached
        stored = await self.pool.fetchval(QUERIES.find_line_type, e164, self.cache_days)
        if stored:
            self.metrics.line_type_lookups.labels("postgres").inc()
            await self._to_redis(e164, stored)
            return stored
        try:
            async with asyncio.timeout(self.timeout):
                answer = await self.service.lookup(e164)
        except TimeoutError:
            self.metrics.line_type_lookups.labels("timeout").inc()
            log.warning("line_type_lookup_timed_out", phone=mask(e164), lookup=self.service.name)
            return "unknown"
        except LookupFailed as exc:
            self.metrics.line_type_lookups.labels("error").inc()
            log.warning("line_type_lookup_failed", phone=mask(e164), lookup=self.service.name, error=clip(exc, 120))
            return "unknown"
        self.metrics.line_type_lookups.labels("lookup").inc()
        await self.pool.execute(QUERIES.store_line_type, e164, answer.line_type, self.service.name,
                                answer.carrier_name)
        await self._to_redis(e164, answer.line_type)
        return answer.line_type

    async def _from_redis(self, e164: str) -> str | None:
        try:
            return await self.redis.get(CACHE_PREFIX + e164)
        except RedisError:
            self.metrics.redis_fallbacks.labels("line_type").inc()
            return None

    async def _to_redis(self, e164: str, line_type: str) -> None:
        try:
            await self.redis.set(CACHE_PREFIX + e164, line_type, ex=self.cache_days * 86400)
        except RedisError:
            self.metrics.redis_fallbacks.labels("line_type").inc()
