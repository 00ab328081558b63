"""Line-type lookups (twilio, offline, sandbox) behind one interface, cached in Redis and Postgres."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import asyncpg
import redis.asyncio as aioredis
import structlog

from gateway.config import Config, LineTypeLookupSettings
from gateway.ops.metrics import Metrics
from gateway.storage import line_types as cache
from gateway.storage.fallback import AWAY, from_redis
from gateway.ops.logs import clip
from gateway.relay.phones import mask
from gateway.vocabulary import LineType

log = structlog.get_logger(__name__)

CACHE_PREFIX = "gw:linetype:"
# Twilio's line_type_intelligence.type -> ours.
TWILIO_TYPES = {
    "mobile": "mobile", "fixedVoip": "voip", "nonFixedVoip": "voip", "personal": "personal",
    "landline": "landline", "tollFree": "toll_free", "premium": "premium", "sharedCost": "shared_cost",
    "uan": "uan", "voicemail": "voicemail", "pager": "pager", "unknown": "unknown",
}


class LookupFailed(Exception):
    """The lookup service did not answer usefully; the number counts as "unknown" and is not cached."""


class NotANumber(Exception):
    """The lookup service says the number does not exist."""


@dataclass(frozen=True)
class Answer:
    line_type: str  # mobile, voip, personal, landline, toll_free, premium, shared_cost, uan, voicemail, pager, unknown
    carrier_name: str | None = None


class LineTypeLookup(Protocol):
    """A line-type service: lookup(E.164) -> Answer; raises LookupFailed, or NotANumber when the number does
    not exist."""

    name: str

    async def lookup(self, e164: str) -> Answer: ...


class OfflineLookup:
    """No service: what phonenumbers could not decide stays "unknown"."""

    name = "offline"

    async def lookup(self, e164: str) -> Answer:
        return Answer("unknown")


class SandboxLookup:
    """Deterministic, for trying the rules: a number whose last four digits are 0000-0099 is a landline,
    0900-0999 is "unknown", anything else is a mobile."""

    name = "sandbox"

    async def lookup(self, e164: str) -> Answer:
        line = e164[-4:]
        if line.startswith("00"):
            return Answer("landline", "Sandbox Landline Co")
        if line.startswith("09"):
            return Answer("unknown")
        return Answer("mobile", "Sandbox Mobile")


class TwilioLookup:
    """GET {base}/v2/PhoneNumbers/{E.164}?Fields=line_type_intelligence with Basic auth."""

    name = "twilio"

    def __init__(self, config: Config, session: aiohttp.ClientSession) -> None:
        self.session = session
        self.base = config.lookup.base.rstrip("/")
        credentials = f"{config.twilio.account_sid}:{config.twilio.auth_token}".encode()
        self.headers = {"Authorization": "Basic " + base64.b64encode(credentials).decode()}

    async def lookup(self, e164: str) -> Answer:
        url = f"{self.base}/v2/PhoneNumbers/{e164}"
        try:
            async with self.session.get(url, params={"Fields": "line_type_intelligence"},
                                        headers=self.headers) as response:
                if response.status != 200:
                    raise LookupFailed(f"lookup answered {response.status}")
                payload = await response.json(content_type=None)
        except (aiohttp.ClientError, ValueError, RecursionError) as exc:  # RecursionError: JSON nested too deep
            raise LookupFailed(type(exc).__name__) from None
        if not isinstance(payload, dict):
            raise LookupFailed("lookup answered no object")
        if payload.get("valid") is False:
            raise NotANumber(e164)
        intelligence = payload.get("line_type_intelligence") or {}
        line_type = TWILIO_TYPES.get(str(intelligence.get("type")), "unknown")
        return Answer(line_type, intelligence.get("carrier_name"))


def create(config: Config, session: aiohttp.ClientSession) -> LineTypeLookup:
    return {"twilio": lambda: TwilioLookup(config, session), "offline": OfflineLookup,
            "sandbox": SandboxLookup}[config.line_type_lookup]()


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

    async def _from_redis(self, e164: str) -> str | None:
        cached = await from_redis(self.metrics, "line_type", self.redis.get(CACHE_PREFIX + e164), phone=mask(e164))
        return None if cached is AWAY else cached

    async def _to_redis(self, e164: str, line_type: str) -> None:
        await from_redis(self.metrics, "line_type", self.redis.set(CACHE_PREFIX + e164, line_type,
                                                                   ex=self.cache_days * 86400), phone=mask(e164))
