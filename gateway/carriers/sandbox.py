"""The sandbox carrier: nothing leaves the machine. It answers sends, calls back as a carrier would, keeps what
each phone would have received, fails on request, and plays either phone (/sandbox/inbound).

Failures on request: POST /sandbox/failures {"phone", "failure": a FailureClass value, "count": 1-100} makes
that phone's next `count` sends fail with that class (count 0 clears). The plan is kept in Redis, so every
process sharing it fails the same sends; with Redis away a send simply succeeds. A failing send is refused
at once (Rejected with the class's value as its error code, e.g. "opted_out"), except rate_limited, which asks
to try again later (RetryLater), as a carrier that is throttling us does.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import secrets
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping
from urllib.parse import urlsplit

import aiohttp
import structlog
from aiohttp import web

from gateway.api.validation import read_json, text
from gateway.carriers.base import (Accepted, Failure, Inbox, InboundMessage, LineAnswer, OutboundSms, Rejected,
                                   Resources, RetryLater, SendResult, Task)
from gateway.carriers import _sandbox_media as sandbox_media
from gateway.carriers.twilio import TwilioWire, parse_address
from gateway.config import Config, ConfigError, carrier_setting
from gateway.errors import InvalidInput
from gateway.relay.phones import mask, to_e164
from gateway.storage.fallback import AWAY, from_redis
from gateway.vocabulary import FailureClass

log = structlog.get_logger(__name__)

REACHES_PHONES = False  # nothing leaves the machine: the secrets real carriers need are not required


@dataclass(frozen=True)
class Settings:
    """[sandbox] in the config file; SANDBOX_<SETTING> in the environment."""

    auth_token: str = "sandbox"  # signs its callbacks (X-Twilio-Signature)
    delivery_delay: float = 0.2  # seconds between its "sent" and "delivered" callbacks


DEFAULT_TOKEN = Settings.auth_token


def check(settings: Settings, config: Config) -> None:
    """Beside a carrier that reaches real phones, the sandbox's webhooks could otherwise be signed by anyone who
    read this file: its token must be the operator's own."""
    from gateway import carriers  # lazily: the registry imports this module

    real = [name for name in config.carriers if carriers.reaches_phones(name)]
    if real and (settings.auth_token == DEFAULT_TOKEN or len(settings.auth_token.strip()) < 16):
        raise ConfigError(f"{carrier_setting('sandbox', 'auth_token')}: set your own, of at least 16 characters "
                          f"as the gateway's other secrets, when the sandbox is served beside {real[0]}, or anyone "
                          f"can post texts and statuses as the sandbox")


FAILURES_PREFIX = "gw:sandbox:failures:"  # + E.164 -> hash {failure, left}
FAILURES_TTL = 86400  # seconds a plan nobody used is kept
# Temporary unless the class says the phone will never take a text (opted out) or nothing better is known.
ERROR_CODES: Mapping[str, Failure] = {
    failure.value: Failure(failure, failure in (FailureClass.OPTED_OUT, FailureClass.OTHER))
    for failure in FailureClass
}
# Take one planned failure for a phone: its class, or nil when none is planned.
TAKE_FAILURE = """
local left = tonumber(redis.call('HGET', KEYS[1], 'left') or '0')
if left <= 0 then return false end
local failure = redis.call('HGET', KEYS[1], 'failure')
if left == 1 then redis.call('DEL', KEYS[1]) else redis.call('HINCRBY', KEYS[1], 'left', -1) end
return failure
"""


class SandboxCarrier(TwilioWire):
    """Speaks Twilio's wire format with its own token; posts signed "sent" then "delivered" callbacks.

    Its webhooks are /webhooks/sandbox/sms and /webhooks/sandbox/status; when twilio is not a carrier of this
    gateway it also answers at /webhooks/twilio/sms and /webhooks/twilio/status, as it did before issue 10."""

    name = "sandbox"
    inbound_path = "/webhooks/sandbox/sms"
    api_prefix = "/sandbox/"  # its phone and its failures on request act for the operator
    status_path = "/webhooks/sandbox/status"
    error_codes = ERROR_CODES
    sends_mms = True  # the phone's screen lists the picture URLs an MMS carried
    whatsapp = True  # its phone writes as "whatsapp:+E164" too, for the README's WhatsApp walk-through
    sends_whatsapp_media = True  # shown with the message, as its other media

    def __init__(self, settings: Settings, config: Config) -> None:
        super().__init__(settings.auth_token)
        self.delay = settings.delivery_delay
        self.timeout = aiohttp.ClientTimeout(total=config.carrier.send_timeout)
        self.region = config.relay.default_region
        self.twilio_paths = "twilio" not in config.carriers
        # Its pictures are on the gateway's own public URL (gateway/carriers/_sandbox_media.py).
        self.public_url = config.public_url
        self.media_hosts = (urlsplit(config.public_url).hostname or "",)
        # What each phone would show: the last texts "delivered", for GET /sandbox/messages. This process only.
        self.delivered: deque[dict] = deque(maxlen=1000)
        self._due: list[tuple[float, int, str, str, str]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()

    async def open(self, resources: Resources) -> None:
        self.resources = resources
        self._take_failure = resources.redis.register_script(TAKE_FAILURE)

    def webhook_paths(self) -> list[tuple[str, str]]:
        paths = [(self.inbound_path, "inbound"), (self.status_path, "status")]
        if self.twilio_paths:
            paths += [("/webhooks/twilio/sms", "inbound"), ("/webhooks/twilio/status", "status")]
        return paths

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult:
        if (failure := await self._planned_failure(message.to_number)) is not None:
            return failure
        sid = "SM" + secrets.token_hex(16)
        log.info("sandbox_message_sent", message_id=message.id, sid=sid, to=mask(message.to_number),
                 characters=len(message.body))
        self.delivered.append({"sid": sid, "from": message.from_number, "to": message.to_number,
                               "body": message.body, "media_urls": list(message.media_urls),
                               "channel": message.channel.value,
                               "template": message.template.template_id if message.template else None,
                               "at": datetime.now(timezone.utc).isoformat()})
        now = time.monotonic()
        self._schedule(now, "sent", sid, status_callback)
        self._schedule(now + self.delay, "delivered", sid, status_callback)
        return Accepted(sid)

    async def _planned_failure(self, phone: str) -> SendResult | None:
        planned = await from_redis(self.resources.metrics, "sandbox_failure",
                                   self._take_failure(keys=[FAILURES_PREFIX + phone]), phone=mask(phone))
        if planned is AWAY or not planned:
            return None
        failure = ERROR_CODES[planned]
        log.info("sandbox_send_failed", to=mask(phone), failure=planned)
        if failure.failure_class == FailureClass.RATE_LIMITED:
            return RetryLater("sandbox: rate limited, as asked")
        return Rejected(planned, f"sandbox: {planned}, as asked", failure)

    async def plan_failures(self, phone: str, failure: FailureClass, count: int) -> None:
        """The phone's next count sends fail with failure (count 0: none). Raises RedisError when Redis is away."""
        key = FAILURES_PREFIX + phone
        async with self.resources.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if count:
                pipe.hset(key, mapping={"failure": failure.value, "left": count})
                pipe.expire(key, FAILURES_TTL)
            await pipe.execute()
        log.info("sandbox_failures_planned", to=mask(phone), failure=failure.value, count=count)

    def _schedule(self, due: float, status: str, sid: str, url: str) -> None:
        heapq.heappush(self._due, (due, next(self._order), status, sid, url))
        self._wake.set()

    def tasks(self) -> dict[str, Task]:
        return {"sandbox_callbacks": self.run_callbacks}

    async def run_callbacks(self) -> None:
        """Post due status callbacks, forever; run by the background tasks' owner."""
        while True:
            if not self._due:
                self._wake.clear()
                await self._wake.wait()
                continue
            due, _, status, sid, url = self._due[0]
            wait = due - time.monotonic()
            if wait > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                continue
            heapq.heappop(self._due)
            await self._post(url, [("MessageSid", sid), ("MessageStatus", status), ("SmsStatus", status)])

    async def _post(self, url: str, form: list[tuple[str, str]]) -> None:
        headers = {"X-Twilio-Signature": self.sign(url, form)}
        try:
            async with self.resources.session.post(url, data=form, headers=headers,
                                                   timeout=self.timeout) as response:
                if response.status >= 400:
                    log.warning("sandbox_callback_refused", status=response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("sandbox_callback_failed", error=type(exc).__name__)

    def routes(self, inbox: Inbox) -> list[web.RouteDef]:
        return [web.post("/sandbox/inbound", _Phone(self, inbox).inbound),
                web.get("/sandbox/messages", self.screen),
                web.post("/sandbox/failures", self.failures), *sandbox_media.routes(lambda: self.resources.redis)]

    async def delete_media(self, url: str) -> bool:
        """Its picture, once the gateway keeps it, as Twilio's DELETE on the Media resource."""
        if not url.startswith(self.public_url + "/webhooks/sandbox/media/"):
            return False
        return await from_redis(self.resources.metrics, "sandbox_media", self.resources.redis.delete(
            "gw:sandbox:media:" + url.rsplit("/", 1)[-1])) is not AWAY

    async def screen(self, request: web.Request) -> web.Response:
        """The phone's screen: what the sandbox delivered to ?phone=, oldest first."""
        phone = to_e164(request.query.get("phone", ""), field="phone", region=self.region)
        return web.json_response({"messages": [sms for sms in self.delivered if sms["to"] == phone]})

    async def failures(self, request: web.Request) -> web.Response:
        """{phone, failure, count=1}: the phone's next count sends fail with that failure class."""
        data = await read_json(request, {"phone": str, "failure": str, "count": int}, required=("phone", "failure"))
        phone = to_e164(data["phone"], field="phone", region=self.region)
        try:
            failure = FailureClass(data["failure"])
        except ValueError:
            raise InvalidInput("invalid_field", "failure: expected one of " + ", ".join(FailureClass)) from None
        count = data.get("count", 1)
        if isinstance(count, bool) or not 0 <= count <= 100:
            raise InvalidInput("invalid_field", "count: expected 0 to 100")
        await self.plan_failures(phone, failure, count)
        return web.json_response({"phone": phone, "failure": failure.value, "count": count})


class _Phone:
    """POST /sandbox/inbound: {from, to, body, media?} arrives as if the carrier had delivered it (media: pictures
    as {content_type, data: base64}, gateway/carriers/_sandbox_media.py); a from of "whatsapp:+E164" writes on
    WhatsApp, as Twilio's addresses do."""

    def __init__(self, carrier: SandboxCarrier, inbox: Inbox) -> None:
        self.carrier = carrier
        self.inbox = inbox

    async def inbound(self, request: web.Request) -> web.Response:
        data = await read_json(request, {"from": str, "to": str, "body": str, "media": list},
                               required=("from", "to", "body"))
        region = self.carrier.region
        body = text(data["body"], "body", max_length=1600, multiline=True) if data["body"] or "media" not in data \
            else ""
        media = await sandbox_media.keep(self.carrier.resources.redis, self.carrier.public_url, data.get("media", []))
        sender, channel = parse_address(data["from"])
        sms = InboundMessage("SM" + secrets.token_hex(16), to_e164(sender, field="from", region=region),
                             to_e164(data["to"], field="to", region=region), body, media, channel=channel)
        outcome = await self.inbox(sms)
        self.carrier.resources.metrics.webhooks.labels("sandbox", outcome).inc()
        return web.json_response({"sid": sms.sid, "outcome": outcome})


class SandboxLookup:
    """Deterministic, for trying the rules: a number whose last four digits are 0000-0099 is a landline,
    0900-0999 is "unknown", anything else is a mobile."""

    name = "sandbox"

    async def lookup(self, e164: str) -> LineAnswer:
        line = e164[-4:]
        if line.startswith("00"):
            return LineAnswer("landline", "Sandbox Landline Co")
        if line.startswith("09"):
            return LineAnswer("unknown")
        return LineAnswer("mobile", "Sandbox Mobile")


def create(settings: Settings, config: Config) -> SandboxCarrier:
    """The registry's factory (gateway/carriers/__init__.py)."""
    return SandboxCarrier(settings, config)


def lookup(settings: Settings, config: Config, session: aiohttp.ClientSession) -> SandboxLookup:
    """LINE_TYPE_LOOKUP=sandbox."""
    return SandboxLookup()
