"""The loop that offers stored texts to a community's intercept URL and tells its out-of-session URL of texts that
belong to no conversation: claims callbacks from Postgres (any process may; a claim is a lease), posts each
signed with Standard Webhooks, and hands the answer to intercepts.py or out_of_session.py."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping

import aiohttp
import asyncpg
import structlog

from gateway.config import HooksSettings
from gateway.messaging.inbound import Receiver
from gateway.ops.metrics import Metrics
from gateway.storage import callbacks as storage
from gateway.storage.callbacks import Claimed
from gateway.platform import intercepts, out_of_session
from gateway.platform.answers import Answer
from gateway.platform.events import secrets_for, signature
from gateway.vocabulary import CallbackKind

log = structlog.get_logger(__name__)
IN_FLIGHT = 50  # callbacks posted at once by one process
LEASE_MARGIN = 5.0  # seconds a claim outlasts one try's timeout: time to record the answer
MAX_ANSWER_BYTES = 16384  # read of an answer's body; a new message body is at most 1600 characters


@dataclass(frozen=True)
class Callbacks:
    """What the loop uses; built once in app.py."""

    pool: asyncpg.Pool
    session: aiohttp.ClientSession
    metrics: Metrics
    config: HooksSettings
    signing_key: bytes  # hooks.secret: each community's secret is derived from it (events.secret_for)
    receiver: Receiver  # the relay path the answers lead to, and the event that wakes the loop

    async def run(self) -> None:
        """Claim what is due whenever there is room, each posted in a task of its own (a slow URL holds up no
        other); look again every config.interval seconds, or at once when a text is stored here."""
        inflight: set[asyncio.Task] = set()
        due = self.receiver.callbacks_due
        try:
            while True:
                due.clear()
                if room := IN_FLIGHT - len(inflight):
                    for callback in await self._claim(room):
                        task = asyncio.create_task(self._handle(callback))
                        inflight.add(task)
                        task.add_done_callback(inflight.discard)
                try:
                    await asyncio.wait_for(due.wait(), self.config.interval)
                except TimeoutError:
                    pass
        finally:
            # Stopping: a callback cut short stays claimed until its lease ends, then any process tries it again.
            for task in inflight:
                task.cancel()
            await asyncio.gather(*inflight, return_exceptions=True)

    async def _claim(self, room: int) -> list[Claimed]:
        lease = max(self.config.intercept_timeout, self.config.timeout) + LEASE_MARGIN
        try:
            return await storage.claim_callbacks(self.pool, limit=room, lease_seconds=lease,
                                                 grace_seconds=self.config.secret_grace_hours * 3600)
        except Exception:
            self.metrics.task_failures.labels("callbacks").inc()
            log.exception("callbacks_not_claimed")
            return []

    async def _handle(self, callback: Claimed) -> None:
        structlog.contextvars.bind_contextvars(callback_id=callback.id, callback_kind=callback.kind)
        try:
            if callback.kind == CallbackKind.INTERCEPT:
                await intercepts.handle(self, callback)
            else:
                await out_of_session.handle(self, callback)
        except Exception:
            self.metrics.rows_skipped.labels("callbacks").inc()
            log.exception("callback_crashed")

    async def post(self, callback: Claimed, kind: str, data: Mapping[str, Any], timeout: float) -> Answer:
        """POST {"type", "timestamp", "data"} to the callback's URL, signed with the community's event secret (and
        its previous one within a rotation's grace); webhook-id is the same on every try of one callback, so a
        receiver can tell a retry from a new text."""
        now = datetime.now(timezone.utc)
        body = json.dumps({"type": kind, "timestamp": now.isoformat(), "data": data})
        webhook_id = f"{callback.kind}_{callback.id}"
        secrets = secrets_for(self.signing_key, callback.community_id, callback.secret_version,
                              callback.sign_previous)
        headers = {"Content-Type": "application/json", "webhook-id": webhook_id,
                   "webhook-timestamp": str(int(now.timestamp())),
                   "webhook-signature": signature(secrets, webhook_id, now, body)}
        try:
            async with self.session.post(callback.url, data=body.encode(), headers=headers, allow_redirects=False,
                                         timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                answer = Answer(response.status, await _read_answer(response.content))
        except TimeoutError:
            answer = Answer(None, error="timeout")
        except (aiohttp.ClientError, ValueError) as exc:
            answer = Answer(None, error=type(exc).__name__)
        self.metrics.callback_tries.labels(callback.kind, answer.result if answer.status is None
                                           else f"{answer.status // 100}xx").inc()
        return answer

    def finished(self, callback: Claimed, outcome: str, answer: Answer | None) -> None:
        """Count and log how a callback ended."""
        self.metrics.callbacks.labels(callback.kind, outcome).inc()
        log.info("callback_finished", outcome=outcome, answer=None if answer is None else answer.result,
                 attempts=callback.attempts)


async def _read_answer(content: aiohttp.StreamReader) -> bytes:
    """The answer's body, whole, cut at MAX_ANSWER_BYTES (past that it reads as no JSON). content.read(n) alone
    returns only what has arrived so far: the first chunk of an answer sent in several."""
    body = bytearray()
    while len(body) < MAX_ANSWER_BYTES and (chunk := await content.read(MAX_ANSWER_BYTES - len(body))):
        body += chunk
    return bytes(body)

