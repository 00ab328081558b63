"""The sandbox carrier: nothing leaves the machine; it answers sends, calls back as a carrier would, and
keeps what each phone would have received."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import secrets
import time
from collections import deque
from datetime import datetime, timezone

import aiohttp
import structlog

from gateway.carriers import Accepted, OutboundSms, SendResult
from gateway.carriers.twilio import TwilioWire
from gateway.config import Config
from gateway.relay.phones import mask

log = structlog.get_logger(__name__)


class SandboxCarrier(TwilioWire):
    """Speaks Twilio's wire format with its own token; posts signed "sent" then "delivered" callbacks."""

    def __init__(self, config: Config, session: aiohttp.ClientSession) -> None:
        super().__init__(config.carrier.sandbox_auth_token)
        self.session = session
        self.delay = config.carrier.sandbox_delivery_delay
        self.timeout = aiohttp.ClientTimeout(total=config.carrier.send_timeout)
        # What each phone would show: the last texts "delivered", for GET /sandbox/messages. This process only.
        self.delivered: deque[dict] = deque(maxlen=1000)
        self._due: list[tuple[float, int, str, str, str]] = []
        self._order = itertools.count()
        self._wake = asyncio.Event()

    async def send(self, message: OutboundSms, status_callback: str) -> SendResult:
        sid = "SM" + secrets.token_hex(16)
        log.info("sandbox_message_sent", message_id=message.id, sid=sid, to=mask(message.to_number),
                 characters=len(message.body))
        self.delivered.append({"sid": sid, "from": message.from_number, "to": message.to_number,
                               "body": message.body, "at": datetime.now(timezone.utc).isoformat()})
        now = time.monotonic()
        self._schedule(now, "sent", sid, status_callback)
        self._schedule(now + self.delay, "delivered", sid, status_callback)
        return Accepted(sid)

    def _schedule(self, due: float, status: str, sid: str, url: str) -> None:
        heapq.heappush(self._due, (due, next(self._order), status, sid, url))
        self._wake.set()

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
            async with self.session.post(url, data=form, headers=headers, timeout=self.timeout) as response:
                if response.status >= 400:
                    log.warning("sandbox_callback_refused", status=response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("sandbox_callback_failed", error=type(exc).__name__)
